//! Search of the knowledge base (FAQ): 10,000 generated Italian articles
//! indexed on disk as `serve` does (`<data_dir>/kb-index`, Italian analysis:
//! lower-casing, stop words, accent folding, Snowball stemming), then
//! realistic queries timed one after the other, each figure reported as a
//! ratio against baselines measured in the same run on the same index:
//!
//! - **search**: `KbIndex::search` as the `/faq` page calls it — query
//!   normalization, analysis, BM25 over the four text fields with the
//!   questions boosted, top 10, a highlighted snippet per result;
//! - **term query**: a bare tantivy `TermQuery` on the question field for
//!   the query's first word already stemmed (no analysis, one field, no
//!   snippets): the engine's floor;
//! - **substring scan**: the query's first word looked for in every
//!   question and answer held in memory, all 10,000 of them (what a
//!   `LIKE '%word%'` does without the database around it), no stemming, no
//!   ranking.
//!
//! Run: `cargo bench -p sportello --bench kb`. Prints the markdown table and
//! writes target/bench/kb.md. Nothing asserts on speed.

use std::time::{Duration, Instant};

use sportello_app::kb::{IndexedArticle, KbIndex};

const ARTICLES: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(3);

const SUBJECTS: &[&str] = &[
    "la password",
    "l'abilitazione",
    "il profilo",
    "l'amministratore locale",
    "la comunicazione di irregolarità",
    "l'avviso telematico",
    "il fascicolo processuale",
    "la richiesta di assistenza",
    "la firma digitale",
    "la casella PEC",
    "l'utenza",
    "il codice fiscale",
    "la delega",
    "il versamento con F24",
    "la nomina",
    "il numero di protocollo",
];
const VERBS: &[&str] = &[
    "scade",
    "viene revocata",
    "si rinnova",
    "non funziona",
    "si modifica",
    "va richiesta",
    "viene bloccata",
    "si consulta",
    "si annulla",
    "viene assegnata",
];
const PLACES: &[&str] = &[
    "nel Telecontenzioso",
    "nel Processo Tributario Telematico",
    "sul canale CIVIS",
    "nella Banca Dati Nazionale Antimafia",
    "nell'area riservata",
    "dalla console di amministrazione",
    "presso il Comune",
    "presso la Regione",
    "presso la Provincia",
    "all'ufficio territoriale",
];
const DETAILS: &[&str] = &[
    "dopo novanta giorni dall'ultimo cambio",
    "quando l'ente non ha un amministratore locale",
    "se l'utente ha già un altro profilo per la stessa applicazione",
    "il sabato mattina e nei giorni festivi",
    "con la password provvisoria ricevuta per posta elettronica",
    "allegando le ricevute dei versamenti",
    "perché l'operatore possa rispondere entro i tempi previsti",
    "secondo le regole del Dipartimento delle Finanze",
    "anche per gli enti che dipendono dal Comune",
    "e la modifica resta registrata nello storico delle attività",
];

const QUERIES: &[&str] = &[
    "password scaduta",
    "perché la mia password è scaduta",
    "abilitazioni Telecontenzioso",
    "amministratori locali del comune",
    "come si rinnova la firma digitale",
    "profilo revocato",
    "comunicazione di irregolarita civis",
    "nomina amministratore regione",
    "utenza bloccata sabato",
    "fascicolo processuale non funziona",
    "versamenti F24 ricevute",
    "casella PEC non funziona",
];

fn article(i: usize) -> IndexedArticle {
    let pick = |list: &[&'static str], k: usize| list[(i / k + i * 7 / (k + 3)) % list.len()];
    let subject = pick(SUBJECTS, 1);
    let verb = pick(VERBS, 3);
    let place = pick(PLACES, 7);
    let detail = pick(DETAILS, 11);
    let question = format!("Come {verb} {subject} {place}? (caso {i})");
    let answer = format!(
        "Nella maggior parte dei casi {subject} {verb} {place} {detail}. \
         Se il problema resta, {} {} {} e scrivi all'assistenza indicando il numero {i}. \
         L'operatore verifica {} {}.",
        pick(SUBJECTS, 5),
        pick(VERBS, 13),
        pick(DETAILS, 2),
        pick(SUBJECTS, 17),
        pick(PLACES, 19),
    );
    IndexedArticle {
        id: i as i64 + 1,
        slug: format!("articolo-{i}"),
        question_it: question,
        answer_it: answer,
        question_en: String::new(),
        answer_en: String::new(),
        application: ["TELECONTENZIOSO", "PTT", "CIVIS", "BDNA", ""][i % 5].to_string(),
        channel: String::new(),
    }
}

struct Figures {
    name: &'static str,
    queries: usize,
    per_second: f64,
    p50: Duration,
    p95: Duration,
    results: usize,
}

/// Runs `one(query)` over the queries in turn for the window; returns the figures.
fn measure(name: &'static str, mut one: impl FnMut(&str) -> usize) -> Figures {
    // Warm-up: every query once.
    for q in QUERIES {
        one(q);
    }
    let mut latencies = Vec::new();
    let mut results = 0;
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < WINDOW && latencies.len() < 2_000_000 {
        let q = QUERIES[i % QUERIES.len()];
        let t = Instant::now();
        results += one(q);
        latencies.push(t.elapsed());
        i += 1;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    Figures {
        name,
        queries: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p95: at(0.95),
        results: results / latencies.len().max(1),
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = KbIndex::open(&dir.path().join("kb-index")).expect("index");
    let articles: Vec<IndexedArticle> = (0..ARTICLES).map(article).collect();
    let t = Instant::now();
    index.rebuild(&articles).expect("rebuild");
    let indexing = t.elapsed();
    assert_eq!(index.num_docs(), ARTICLES as u64);

    let search = measure(
        "search (analysis, BM25 on 4 fields, top 10, snippets)",
        |q| index.search(q, None, 10).expect("search").len(),
    );
    // The first word of each query, stemmed once beforehand.
    let first_terms: Vec<(String, String)> = QUERIES
        .iter()
        .map(|q| {
            let terms = KbIndex::italian_terms(q);
            (q.to_string(), terms.first().cloned().unwrap_or_default())
        })
        .collect();
    let term = measure(
        "term query (one stemmed term, question field, top 10)",
        |q| {
            let stem = &first_terms.iter().find(|(k, _)| k == q).unwrap().1;
            index.bare_term_count(stem, 10).expect("term query")
        },
    );
    let texts: Vec<String> = articles
        .iter()
        .map(|a| format!("{} {}", a.question_it, a.answer_it).to_lowercase())
        .collect();
    let scan = measure("substring scan (first word, 10,000 texts in memory)", |q| {
        let word = q.split_whitespace().next().unwrap_or("").to_lowercase();
        texts.iter().filter(|t| t.contains(&word)).count().min(10)
    });

    let mut md = String::new();
    md.push_str("# Knowledge base search\n\n");
    md.push_str(&format!(
        "{ARTICLES} generated Italian articles, indexed on disk in {:.2} s; {} queries in turn, {} s per measure, one thread.\n\n",
        indexing.as_secs_f64(),
        QUERIES.len(),
        WINDOW.as_secs()
    ));
    md.push_str(
        "| measure | queries | q/s | p50 | p95 | results per query | throughput ÷ search's |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for f in [&search, &term, &scan] {
        md.push_str(&format!(
            "| {} | {} | {:.0} | {} | {} | {} | {:.2}× |\n",
            f.name,
            f.queries,
            f.per_second,
            micros(f.p50),
            micros(f.p95),
            f.results,
            f.per_second / search.per_second,
        ));
    }
    md.push_str(&format!(
        "\nA search costs {:.1}× a bare term query and {:.1}× a substring scan (p50 {} vs {} and {}).\n",
        term.per_second / search.per_second,
        scan.per_second / search.per_second,
        micros(search.p50),
        micros(term.p50),
        micros(scan.p50),
    ));
    println!("{md}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    let _ = std::fs::create_dir_all(&out);
    std::fs::write(out.join("kb.md"), &md).expect("write target/bench/kb.md");
}
