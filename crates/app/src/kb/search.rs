//! Full-text search of the published articles (tantivy), on disk under
//! `<data_dir>/kb-index`. The database is the source of truth: the index is
//! rebuilt from it at start-up and follows each publication and withdrawal.
//!
//! Italian analysis: words split on anything not alphanumeric (so "l'utenza"
//! gives "l" and "utenza"), lower-cased, Italian stop words dropped, accents
//! folded ("perché" = "perche") and stemmed with the Italian Snowball
//! stemmer ("abilitazioni" = "abilitazione"). English texts have their own
//! field with the English stemmer. The question weighs more than the answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sportello_core::kb::{normalize_query, snippet_html};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term, doc};

/// Tokenizer names registered on the index.
pub const ITALIAN: &str = "sportello_it";
pub const ENGLISH: &str = "sportello_en";

/// Boost of the question over the answer.
pub const QUESTION_BOOST: f32 = 3.0;

/// What the index holds of one published article.
#[derive(Clone, Debug, Default)]
pub struct IndexedArticle {
    pub id: i64,
    pub slug: String,
    pub question_it: String,
    /// The answer as plain text (Markdown removed).
    pub answer_it: String,
    pub question_en: String,
    pub answer_en: String,
    pub application: String,
    pub channel: String,
}

/// One result, best first.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Hit {
    pub id: i64,
    pub slug: String,
    pub question: String,
    /// The answer's best passage, escaped, the matching words in `<mark>`.
    pub snippet_html: String,
    pub application: String,
    pub channel: String,
    pub score: f32,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    slug: Field,
    question_it: Field,
    answer_it: Field,
    question_en: Field,
    answer_en: Field,
    application: Field,
    channel: Field,
}

pub struct KbIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// One writer at a time in this process; the writer is opened for each
    /// change and closed after its commit, so the directory's lock is held
    /// only while writing.
    writing: Mutex<()>,
}

fn italian() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::Italian).expect("Italian stop words"))
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::Italian))
        .build()
}

fn english() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("English stop words"))
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let fields = Fields {
        id: b.add_i64_field("id", INDEXED | STORED | FAST),
        slug: b.add_text_field("slug", STRING | STORED),
        question_it: b.add_text_field("question_it", text(ITALIAN)),
        answer_it: b.add_text_field("answer_it", text(ITALIAN)),
        question_en: b.add_text_field("question_en", text(ENGLISH)),
        answer_en: b.add_text_field("answer_en", text(ENGLISH)),
        application: b.add_text_field("application", STRING | STORED),
        channel: b.add_text_field("channel", STRING | STORED),
    };
    (b.build(), fields)
}

fn err(e: impl std::fmt::Display) -> String {
    format!("indice delle FAQ: {e}")
}

/// The index of a directory, shared by every `App` of the process that uses
/// it (tests start several on one data directory).
pub fn open_shared(dir: &Path) -> Result<Arc<KbIndex>, String> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Arc<KbIndex>>>> = OnceLock::new();
    let mut open = OPEN.get_or_init(Default::default).lock().map_err(err)?;
    if let Some(ix) = open.get(dir) {
        return Ok(ix.clone());
    }
    let ix = Arc::new(KbIndex::open(dir)?);
    open.insert(dir.to_path_buf(), ix.clone());
    Ok(ix)
}

impl KbIndex {
    /// Opens the index in `dir`, creating it (or recreating it when its
    /// schema changed: it is only a copy of the database).
    pub fn open(dir: &Path) -> Result<KbIndex, String> {
        std::fs::create_dir_all(dir).map_err(err)?;
        let (schema, fields) = schema();
        let index = match Index::open_in_dir(dir) {
            Ok(ix) if ix.schema() == schema => ix,
            _ => {
                for entry in std::fs::read_dir(dir).map_err(err)? {
                    let path = entry.map_err(err)?.path();
                    if path.is_file() {
                        std::fs::remove_file(&path).map_err(err)?;
                    }
                }
                Index::create_in_dir(dir, schema).map_err(err)?
            }
        };
        Self::with_index(index, fields)
    }

    /// An index in memory (unit tests, the benchmark's baseline).
    pub fn in_memory() -> Result<KbIndex, String> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<KbIndex, String> {
        index.tokenizers().register(ITALIAN, italian());
        index.tokenizers().register(ENGLISH, english());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok(KbIndex {
            index,
            reader,
            fields,
            writing: Mutex::new(()),
        })
    }

    fn document(&self, a: &IndexedArticle) -> TantivyDocument {
        let f = &self.fields;
        doc!(
            f.id => a.id,
            f.slug => a.slug.clone(),
            f.question_it => a.question_it.clone(),
            f.answer_it => a.answer_it.clone(),
            f.question_en => a.question_en.clone(),
            f.answer_en => a.answer_en.clone(),
            f.application => a.application.clone(),
            f.channel => a.channel.clone(),
        )
    }

    /// Applies changes in one commit: `remove` articles leave the index,
    /// `put` ones are (re)indexed; `clear` empties it first (a rebuild).
    pub fn apply(&self, clear: bool, remove: &[i64], put: &[IndexedArticle]) -> Result<(), String> {
        let _guard = self.writing.lock().map_err(err)?;
        let mut writer = self
            .index
            .writer_with_num_threads::<TantivyDocument>(1, 15_000_000)
            .map_err(err)?;
        if clear {
            writer.delete_all_documents().map_err(err)?;
        }
        for id in remove.iter().chain(put.iter().map(|a| &a.id)) {
            writer.delete_term(Term::from_field_i64(self.fields.id, *id));
        }
        for a in put {
            writer.add_document(self.document(a)).map_err(err)?;
        }
        writer.commit().map_err(err)?;
        writer.wait_merging_threads().map_err(err)?;
        self.reader.reload().map_err(err)?;
        Ok(())
    }

    pub fn rebuild(&self, articles: &[IndexedArticle]) -> Result<(), String> {
        self.apply(true, &[], articles)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The query of a visitor's text: every word in the four text fields,
    /// any of them may match (BM25 ranks those matching more, and rarer,
    /// words higher), the questions boosted.
    fn text_query(&self, text: &str) -> Option<Box<dyn Query>> {
        let q = normalize_query(text);
        if q.is_empty() {
            return None;
        }
        let f = &self.fields;
        let mut parser = QueryParser::for_index(
            &self.index,
            vec![f.question_it, f.answer_it, f.question_en, f.answer_en],
        );
        parser.set_field_boost(f.question_it, QUESTION_BOOST);
        parser.set_field_boost(f.question_en, QUESTION_BOOST);
        // Words only reach here, and lower-cased so "OR"/"AND" are words too.
        let (query, _) = parser.parse_query_lenient(&q.to_lowercase());
        Some(query)
    }

    /// The best `limit` published articles for `text`, optionally only those
    /// of one application.
    pub fn search(
        &self,
        text: &str,
        application: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Hit>, String> {
        let Some(query) = self.text_query(text) else {
            return Ok(Vec::new());
        };
        let query: Box<dyn Query> = match application.filter(|a| !a.is_empty()) {
            None => query,
            Some(app) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, query),
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.application, app),
                        IndexRecordOption::Basic,
                    )),
                ),
            ])),
        };
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(err)?;
        if top.is_empty() {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let mut answer_snippets =
            SnippetGenerator::create(&searcher, &*query, f.answer_it).map_err(err)?;
        answer_snippets.set_max_num_chars(220);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let d: TantivyDocument = searcher.doc(address).map_err(err)?;
            let text = |field: Field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let snippet = answer_snippets.snippet_from_doc(&d);
            let snippet_html = if snippet.is_empty() {
                // No answer word matched (only the question did): its beginning.
                let answer = text(f.answer_it);
                let cut: String = answer.chars().take(200).collect();
                let ellipsis = if cut.len() < answer.len() { "…" } else { "" };
                format!("{}{ellipsis}", snippet_html(&cut, &[]))
            } else {
                snippet_html(snippet.fragment(), snippet.highlighted())
            };
            hits.push(Hit {
                id: d
                    .get_first(f.id)
                    .and_then(|v| v.as_i64())
                    .unwrap_or_default(),
                slug: text(f.slug),
                question: text(f.question_it),
                snippet_html,
                application: text(f.application),
                channel: text(f.channel),
                score,
            });
        }
        Ok(hits)
    }

    /// The baseline of the benchmark: one term in the question field, no
    /// analysis of the query, no snippets.
    pub fn bare_term_count(&self, stemmed_term: &str, limit: usize) -> Result<usize, String> {
        let query = TermQuery::new(
            Term::from_field_text(self.fields.question_it, stemmed_term),
            IndexRecordOption::WithFreqs,
        );
        let searcher = self.reader.searcher();
        Ok(searcher
            .search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .map_err(err)?
            .len())
    }

    /// The terms the Italian analysis makes of `text` (tests, the benchmark).
    pub fn italian_terms(text: &str) -> Vec<String> {
        let mut analyzer = italian();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(id: i64, app: &str, q: &str, a: &str) -> IndexedArticle {
        IndexedArticle {
            id,
            slug: format!("articolo-{id}"),
            question_it: q.into(),
            answer_it: a.into(),
            application: app.into(),
            ..Default::default()
        }
    }

    fn index() -> KbIndex {
        let ix = KbIndex::in_memory().unwrap();
        ix.rebuild(&[
            article(
                1,
                "TELECONTENZIOSO",
                "Quali profili esistono per il Telecontenzioso?",
                "Le abilitazioni disponibili sono consultazione e deposito degli atti.",
            ),
            article(
                2,
                "",
                "Che cosa fa l'amministratore locale?",
                "Abilita i dipendenti dell'ente e ne gestisce le utenze.",
            ),
            article(
                3,
                "",
                "Perché la mia password è scaduta?",
                "La password scade dopo 90 giorni: cambiala dalla pagina del profilo.",
            ),
            article(
                4,
                "",
                "Orari dell'assistenza telefonica",
                "Il servizio risponde dal lunedì al venerdì, perché così è stabilito.",
            ),
        ])
        .unwrap();
        ix
    }

    fn ids(hits: &[Hit]) -> Vec<i64> {
        hits.iter().map(|h| h.id).collect()
    }

    #[test]
    fn italian_analysis_folds_and_stems() {
        assert_eq!(
            KbIndex::italian_terms("abilitazioni"),
            KbIndex::italian_terms("abilitazione")
        );
        assert_eq!(
            KbIndex::italian_terms("amministratore"),
            KbIndex::italian_terms("Amministratori")
        );
        assert_eq!(
            KbIndex::italian_terms("funzionalità"),
            KbIndex::italian_terms("funzionalita")
        );
        // Stop words and elisions leave nothing behind.
        assert_eq!(
            KbIndex::italian_terms("l'utenza"),
            KbIndex::italian_terms("utenza")
        );
    }

    #[test]
    fn morphology_and_accents_find_the_article() {
        let ix = index();
        assert_eq!(ids(&ix.search("abilitazione", None, 5).unwrap()), [1]);
        assert_eq!(ids(&ix.search("amministratori", None, 5).unwrap()), [2]);
        assert_eq!(ids(&ix.search("venerdi", None, 5).unwrap()), [4]);
        assert_eq!(ids(&ix.search("lunedi", None, 5).unwrap()), [4]);
        assert_eq!(ids(&ix.search("scaduta", None, 5).unwrap())[0], 3);
    }

    #[test]
    fn the_question_weighs_more_than_the_answer_and_filters_apply() {
        let ix = index();
        // "password" is in the question of 3 only; "profili" in the question of 1.
        assert_eq!(
            ids(&ix.search("profili abilitazioni", None, 5).unwrap())[0],
            1
        );
        assert_eq!(
            ids(&ix
                .search("abilitazioni", Some("TELECONTENZIOSO"), 5)
                .unwrap()),
            [1]
        );
        assert!(ix.search("abilita", Some("ALTRO"), 5).unwrap().is_empty());
        assert!(ix.search("?? !!", None, 5).unwrap().is_empty());
        assert!(ix.search("title:(x OR", None, 5).is_ok());
    }

    #[test]
    fn snippets_mark_the_matching_words_safely() {
        let ix = KbIndex::in_memory().unwrap();
        ix.rebuild(&[article(
            9,
            "",
            "Domanda",
            "Il <b>codice</b> scade dopo 90 giorni",
        )])
        .unwrap();
        let hits = ix.search("scadere codice", None, 5).unwrap();
        assert_eq!(hits.len(), 1);
        let s = &hits[0].snippet_html;
        assert!(s.contains("&lt;b&gt;<mark>codice</mark>&lt;/b&gt;"), "{s}");
        assert!(s.contains("<mark>scade</mark>"), "{s}");
    }

    #[test]
    fn removed_articles_are_not_found() {
        let ix = index();
        ix.apply(false, &[3], &[]).unwrap();
        assert!(ix.search("password", None, 5).unwrap().is_empty());
        assert_eq!(ix.num_docs(), 3);
    }
}
