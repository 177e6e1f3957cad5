//! An in-memory read model of every market, so listing and looking up markets (the hottest
//! public reads) never touch the database. Each market is serialised once, when the catalog
//! is built; a page is rendered once per snapshot and query (then served as the same bytes),
//! with an ETag that names the snapshot and the query, so `If-None-Match` costs no rendering.
//!
//! Freshness: the catalog compares the table's fingerprint (count, latest update) every 500 ms
//! (the server's refresh loop) and rebuilds when it changed, so a market written by any
//! instance or by `kairos-api markets import` shows within about half a second. A lookup by id that misses falls through to the
//! database, so a market never 404s because the catalog has not caught up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Bytes;

use base64::Engine as _;
use kairos_domain::{Market, MarketStatus, Venue, parse_id};
use kairos_platform::locks;
use kairos_platform::storage::{Db, StorageError, markets};

use crate::trading::market_view::MarketBody;

/// One market as the catalog keeps it.
#[derive(Debug)]
pub struct Entry {
    pub id: String,
    pub status: MarketStatus,
    pub venue: Venue,
    /// Lower-cased question and slug, for `q`.
    search_text: String,
    /// The market's JSON, as served.
    pub json: Box<str>,
    pub market: Market,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    /// Sorted by id (creation order).
    entries: Vec<Arc<Entry>>,
    /// The table's fingerprint when this snapshot was built; `None` before the first build.
    fingerprint: Option<(i64, i64)>,
    /// Pages rendered from this snapshot, by query; a new snapshot starts empty.
    pages: Mutex<HashMap<PageKey, Arc<RenderedPage>>>,
}

/// Pages kept per snapshot at most: the common queries; a flood of distinct `q` values is
/// rendered per request instead of growing the map.
const MAX_CACHED_PAGES: usize = 4_096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    status: Option<MarketStatus>,
    venue: Option<Venue>,
    text: Option<String>,
    after: Option<String>,
    limit: usize,
}

/// A page's response body and its ETag.
#[derive(Debug)]
pub struct RenderedPage {
    pub body: Bytes,
    /// Strong: the same snapshot and query always render the same bytes.
    pub etag: String,
}

/// Filters of `GET /v1/markets`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status: Option<MarketStatus>,
    pub venue: Option<Venue>,
    /// Case-insensitive substring of the question or slug.
    pub text: Option<String>,
}

/// One page: the entries and the cursor of the next page, if there is one.
#[derive(Debug)]
pub struct Page {
    pub entries: Vec<Arc<Entry>>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default)]
pub struct MarketCatalog {
    snapshot: RwLock<Arc<Snapshot>>,
}

const CURSOR_PREFIX: &str = "m1:";

/// Encodes the id of the last market of a page as an opaque cursor.
pub fn encode_cursor(last_id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{last_id}"))
}

/// The id inside a cursor, or `None` when the cursor is not one of ours.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    parse_id(text.strip_prefix(CURSOR_PREFIX)?)
}

impl MarketCatalog {
    fn current(&self) -> Arc<Snapshot> {
        locks::read(&self.snapshot).clone()
    }

    /// Rebuilds from the database when the table changed since the last build; returns
    /// whether it rebuilt.
    pub async fn refresh(&self, db: &Db) -> Result<bool, StorageError> {
        let fingerprint = markets::fingerprint(db).await?;
        if self.current().fingerprint == Some(fingerprint) {
            return Ok(false);
        }
        let all = markets::all(db).await?;
        let snapshot = build(&all, fingerprint)?;
        tracing::debug!(markets = snapshot.entries.len(), "market catalog rebuilt");
        {
            let mut s = locks::write(&self.snapshot);
            *s = Arc::new(snapshot);
        }
        Ok(true)
    }

    /// The `GET /v1/markets` body for this query, rendered once per snapshot.
    pub fn rendered_page(&self, filter: &Filter, after: Option<&str>, limit: usize) -> Arc<RenderedPage> {
        let snapshot = self.current();
        let key = PageKey {
            status: filter.status,
            venue: filter.venue,
            text: filter.text.as_ref().map(|t| t.to_lowercase()),
            after: after.map(str::to_string),
            limit,
        };
        if let Some(page) = locks::lock(&snapshot.pages).get(&key).cloned() {
            return page;
        }
        let page = Arc::new(render(&snapshot, &key, Self::page_of(&snapshot, filter, after, limit)));
        let mut pages = locks::lock(&snapshot.pages);
        if pages.len() < MAX_CACHED_PAGES {
            pages.insert(key, page.clone());
        }
        drop(pages);
        page
    }

    /// Markets after `after` (an id) that pass `filter`, at most `limit` of them.
    pub fn page(&self, filter: &Filter, after: Option<&str>, limit: usize) -> Page {
        Self::page_of(&self.current(), filter, after, limit)
    }

    fn page_of(snapshot: &Snapshot, filter: &Filter, after: Option<&str>, limit: usize) -> Page {
        let start = match after {
            Some(id) => snapshot.entries.partition_point(|e| e.id.as_str() <= id),
            None => 0,
        };
        let needle = filter.text.as_ref().map(|t| t.to_lowercase());
        let mut matching = snapshot.entries[start..].iter().filter(|e| {
            filter.status.is_none_or(|s| e.status == s)
                && filter.venue.is_none_or(|v| e.venue == v)
                && needle.as_ref().is_none_or(|n| e.search_text.contains(n.as_str()))
        });
        let entries: Vec<Arc<Entry>> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        let next_cursor = match (more, entries.last()) {
            (true, Some(last)) => Some(encode_cursor(&last.id)),
            _ => None,
        };
        Page { entries, next_cursor }
    }

    /// The market's JSON: from the catalog, or from the database when the catalog has not
    /// seen it yet.
    pub async fn get(&self, db: &Db, id: &str) -> Result<Option<Box<str>>, StorageError> {
        let snapshot = self.current();
        if let Ok(i) = snapshot.entries.binary_search_by(|e| e.id.as_str().cmp(id)) {
            return Ok(Some(snapshot.entries[i].json.clone()));
        }
        match markets::get(db, id).await? {
            Some(m) => Ok(Some(to_json(&m)?)),
            None => Ok(None),
        }
    }

    /// The market: from the catalog (at most a second old), or from the database when the
    /// catalog has not seen it yet. Order checks read it here so they never wait on a query.
    pub async fn market(&self, db: &Db, id: &str) -> Result<Option<Market>, StorageError> {
        let snapshot = self.current();
        if let Ok(i) = snapshot.entries.binary_search_by(|e| e.id.as_str().cmp(id)) {
            return Ok(Some(snapshot.entries[i].market.clone()));
        }
        markets::get(db, id).await
    }

    /// A market from the last snapshot only, never the database: for callers an outsider can
    /// make ask for anything (a stream subscription), so a made-up id costs no query. A market
    /// created since the last refresh (every 500 ms) is not there yet.
    pub fn cached(&self, id: &str) -> Option<Market> {
        let snapshot = self.current();
        let i = snapshot.entries.binary_search_by(|e| e.id.as_str().cmp(id)).ok()?;
        Some(snapshot.entries[i].market.clone())
    }

    pub fn len(&self) -> usize {
        self.current().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn to_json(m: &Market) -> Result<Box<str>, StorageError> {
    serde_json::to_string(&MarketBody::from(m))
        .map(String::into_boxed_str)
        .map_err(|e| StorageError::Corrupt(format!("market {} cannot be serialised: {e}", m.id)))
}

fn build(all: &[Market], fingerprint: (i64, i64)) -> Result<Snapshot, StorageError> {
    let mut entries = all
        .iter()
        .map(|m| {
            Ok(Arc::new(Entry {
                id: m.id.clone(),
                status: m.status,
                venue: m.venue,
                search_text: format!("{}\n{}", m.question.to_lowercase(), m.slug.to_lowercase()),
                json: to_json(m)?,
                market: m.clone(),
            }))
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Snapshot { entries, fingerprint: Some(fingerprint), pages: Mutex::default() })
}

/// `{"data":[…],"next_cursor":…}` from the entries' ready JSON, and its ETag: the snapshot's
/// fingerprint and a hash of the query, so it changes exactly when the body can.
fn render(snapshot: &Snapshot, key: &PageKey, page: Page) -> RenderedPage {
    let mut body = String::with_capacity(64 + page.entries.iter().map(|e| e.json.len() + 1).sum::<usize>());
    body.push_str("{\"data\":[");
    for (i, entry) in page.entries.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&entry.json);
    }
    body.push_str("],\"next_cursor\":");
    match &page.next_cursor {
        // Cursors are base64url: nothing in them needs escaping.
        Some(c) => {
            body.push('"');
            body.push_str(c);
            body.push('"');
        }
        None => body.push_str("null"),
    }
    body.push('}');
    let (count, updated) = snapshot.fingerprint.unwrap_or((0, 0));
    let query = {
        use std::hash::{Hash as _, Hasher as _};
        // Fixed keys: the same query hashes alike on every instance and restart.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        h.finish()
    };
    RenderedPage { body: Bytes::from(body), etag: format!("\"m{count}-{updated}-{query:016x}\"") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_domain::Outcome;

    fn market(id: &str, status: MarketStatus, venue: Venue, question: &str) -> Market {
        Market {
            id: id.to_string(),
            venue,
            external_id: None,
            slug: question.to_lowercase().replace(' ', "-"),
            question: question.to_string(),
            description: String::new(),
            status,
            tick_size: kairos_domain::Price::from_micros(10_000),
            min_size: kairos_domain::Size::from_micros(1_000_000),
            end_time_us: None,
            protocol: None,
            resolved_outcome: None,
            is_sample: false,
            outcomes: vec![
                Outcome { index: 0, label: "YES".into(), external_id: None },
                Outcome { index: 1, label: "NO".into(), external_id: None },
            ],
            created_at_us: 0,
            updated_at_us: 0,
        }
    }

    fn catalog(markets: &[Market]) -> MarketCatalog {
        let c = MarketCatalog::default();
        *c.snapshot.write().expect("lock") = Arc::new(build(markets, (1, 1)).expect("build"));
        c
    }

    fn id(n: u32) -> String {
        format!("00000000-0000-7000-8000-{n:012}")
    }

    #[test]
    fn pages_walk_every_matching_market_once() {
        let all: Vec<Market> = (0..7)
            .map(|n| {
                let status = if n % 2 == 0 { MarketStatus::Open } else { MarketStatus::Closed };
                market(&id(n), status, Venue::Paper, &format!("Question {n}"))
            })
            .collect();
        let c = catalog(&all);
        let open = Filter { status: Some(MarketStatus::Open), ..Filter::default() };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = cursor.as_deref().map(|c| decode_cursor(c).expect("our cursor"));
            let page = c.page(&open, after.as_deref(), 2);
            seen.extend(page.entries.iter().map(|e| e.id.clone()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, vec![id(0), id(2), id(4), id(6)]);
    }

    #[test]
    fn filters_by_venue_and_text_case_insensitively() {
        let c = catalog(&[
            market(&id(1), MarketStatus::Open, Venue::Paper, "Will BTC rise?"),
            market(&id(2), MarketStatus::Open, Venue::Polymarket, "Will ETH rise?"),
        ]);
        let btc = Filter { text: Some("btc".into()), ..Filter::default() };
        assert_eq!(c.page(&btc, None, 10).entries.len(), 1);
        let poly = Filter { venue: Some(Venue::Polymarket), ..Filter::default() };
        let page = c.page(&poly, None, 10);
        assert_eq!(page.entries[0].id, id(2));
        assert!(page.next_cursor.is_none());
    }

    #[test]
    fn cursors_are_opaque_and_checked() {
        let c = encode_cursor(&id(5));
        assert_eq!(decode_cursor(&c), Some(id(5)));
        assert_eq!(decode_cursor("not-a-cursor"), None);
        assert_eq!(decode_cursor(&encode_cursor("not-an-id")), None);
    }
}
