//! The market channel's frames, read in place: one frame (an event object, or an array of
//! them) becomes [`Event`]s that borrow the frame's bytes and the parser's reused level
//! buffers, so a frame costs no heap allocation once the buffers have grown to the largest
//! book seen. Only what the quoter uses is read; other members are skipped, not built.
//!
//! Event shapes (the CLOB's market channel): `book` `{asset_id, market, bids|buys, asks|sells,
//! timestamp, hash}`, `price_change` `{market, timestamp, price_changes:[{asset_id, price,
//! size, side, hash, best_bid, best_ask}]}`, `tick_size_change` `{asset_id, new_tick_size}`,
//! `last_trade_price` `{asset_id, price, side, size}`, `best_bid_ask` `{asset_id, best_bid,
//! best_ask}`. Prices and sizes are decimal strings; see [`crate::fixed`].

use crate::fixed::{parse_price, parse_size};

/// Why a frame could not be read, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed market frame at byte {at}: {what}")]
pub struct FrameError {
    pub at: usize,
    pub what: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

/// A price level: price units and micro-shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub price: u32,
    pub size: u64,
}

/// Where a string sits in the frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// One `price_change` entry as stored between frames (positions, not borrows).
#[derive(Debug, Clone, Copy)]
struct RawChange {
    asset_id: Span,
    hash: Span,
    level: Level,
    side: Side,
    best_bid: Option<u32>,
    best_ask: Option<u32>,
}

/// One level change of a `price_change` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<'f> {
    pub asset_id: &'f str,
    pub side: Side,
    /// Size 0 removes the level.
    pub level: Level,
    /// The book's hash after the change ("" when not sent).
    pub hash: &'f str,
    pub best_bid: Option<u32>,
    pub best_ask: Option<u32>,
}

/// The changes of one `price_change` event.
#[derive(Debug, Clone, Copy)]
pub struct Changes<'f, 'p> {
    frame: &'f str,
    raw: &'p [RawChange],
}

impl<'f> Changes<'f, '_> {
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Change<'f>> + '_ {
        let frame = self.frame;
        self.raw.iter().map(move |r| Change {
            asset_id: span(frame, r.asset_id),
            side: r.side,
            level: r.level,
            hash: span(frame, r.hash),
            best_bid: r.best_bid,
            best_ask: r.best_ask,
        })
    }
}

fn span(frame: &str, s: Span) -> &str {
    frame.get(s.start as usize..s.end as usize).unwrap_or("")
}

/// One market-channel event. `'f` borrows the frame, `'p` the parser's buffers.
#[derive(Debug, Clone, Copy)]
pub enum Event<'f, 'p> {
    Book {
        asset_id: &'f str,
        market: &'f str,
        timestamp_ms: u64,
        hash: &'f str,
        bids: &'p [Level],
        asks: &'p [Level],
    },
    PriceChange {
        market: &'f str,
        timestamp_ms: u64,
        changes: Changes<'f, 'p>,
    },
    TickSizeChange {
        asset_id: &'f str,
        new_tick: u32,
    },
    LastTradePrice {
        asset_id: &'f str,
        side: Option<Side>,
        level: Level,
    },
    BestBidAsk {
        asset_id: &'f str,
        best_bid: Option<u32>,
        best_ask: Option<u32>,
    },
    /// An event type the quoter does not use (`new_market`, `market_resolved`, …).
    Other {
        event_type: &'f str,
    },
}

/// Reads frames into events, keeping its buffers between frames.
#[derive(Debug, Default)]
pub struct Parser {
    bids: Vec<Level>,
    asks: Vec<Level>,
    changes: Vec<RawChange>,
}

/// An event's members, before its type is known (`event_type` may come last).
#[derive(Default)]
struct Members {
    event_type: Span,
    asset_id: Span,
    market: Span,
    hash: Span,
    timestamp_ms: u64,
    price: Option<u32>,
    size: Option<u64>,
    side: Option<Side>,
    new_tick: Option<u32>,
    best_bid: Option<u32>,
    best_ask: Option<u32>,
}

impl Parser {
    /// A parser whose buffers already hold `levels` levels a side and `changes` changes.
    pub fn with_capacity(levels: usize, changes: usize) -> Self {
        Self {
            bids: Vec::with_capacity(levels),
            asks: Vec::with_capacity(levels),
            changes: Vec::with_capacity(changes),
        }
    }

    /// Reads `frame` and calls `on_event` for each event in it, in order; returns how many.
    /// A malformed frame stops at the first error (events before it were delivered).
    pub fn parse<'f>(&mut self, frame: &'f str, mut on_event: impl FnMut(Event<'f, '_>)) -> Result<usize, FrameError> {
        let mut s = Scanner { b: frame.as_bytes(), i: 0 };
        let mut count = 0;
        match s.peek() {
            Some(b'[') => {
                s.i += 1;
                if !s.eat(b']') {
                    loop {
                        self.event(&mut s, frame, &mut on_event)?;
                        count += 1;
                        if s.eat(b',') {
                            continue;
                        }
                        s.expect(b']', "`,` or `]` after an event")?;
                        break;
                    }
                }
            }
            Some(b'{') => {
                self.event(&mut s, frame, &mut on_event)?;
                count = 1;
            }
            _ => return Err(s.error("an event object or an array of them")),
        }
        if s.peek().is_some() {
            return Err(s.error("nothing after the frame's value"));
        }
        Ok(count)
    }

    fn event<'f>(
        &mut self,
        s: &mut Scanner<'f>,
        frame: &'f str,
        on_event: &mut impl FnMut(Event<'f, '_>),
    ) -> Result<(), FrameError> {
        self.bids.clear();
        self.asks.clear();
        self.changes.clear();
        let mut m = Members::default();
        let (bids, asks, changes) = (&mut self.bids, &mut self.asks, &mut self.changes);
        s.object(|key, s| match key {
            b"event_type" => s.string_span().map(|v| m.event_type = v),
            b"asset_id" => s.string_span().map(|v| m.asset_id = v),
            b"market" => s.string_span().map(|v| m.market = v),
            b"hash" => s.string_span().map(|v| m.hash = v),
            b"timestamp" => {
                let text = s.scalar()?;
                m.timestamp_ms = parse_u64(text).ok_or_else(|| s.error("a timestamp in milliseconds"))?;
                Ok(())
            }
            b"price" => s.scalar().map(|t| m.price = parse_price(t)),
            b"size" => s.scalar().map(|t| m.size = parse_size(t)),
            b"side" => s.scalar().map(|t| m.side = side(t)),
            b"new_tick_size" => s.scalar().map(|t| m.new_tick = parse_price(t)),
            b"best_bid" => s.scalar().map(|t| m.best_bid = parse_price(t)),
            b"best_ask" => s.scalar().map(|t| m.best_ask = parse_price(t)),
            b"bids" | b"buys" => levels(s, bids),
            b"asks" | b"sells" => levels(s, asks),
            b"price_changes" => s.array(|s| change(s, changes)),
            _ => s.skip(),
        })?;
        let text = |sp: Span| span(frame, sp);
        let event = match text(m.event_type) {
            "book" => Event::Book {
                asset_id: text(m.asset_id),
                market: text(m.market),
                timestamp_ms: m.timestamp_ms,
                hash: text(m.hash),
                bids: &self.bids,
                asks: &self.asks,
            },
            "price_change" => Event::PriceChange {
                market: text(m.market),
                timestamp_ms: m.timestamp_ms,
                changes: Changes { frame, raw: &self.changes },
            },
            "tick_size_change" => Event::TickSizeChange {
                asset_id: text(m.asset_id),
                new_tick: m.new_tick.filter(|t| *t > 0).ok_or_else(|| s.error("a new_tick_size on the grid"))?,
            },
            "last_trade_price" => Event::LastTradePrice {
                asset_id: text(m.asset_id),
                side: m.side,
                level: Level {
                    price: m.price.ok_or_else(|| s.error("a price"))?,
                    size: m.size.ok_or_else(|| s.error("a size"))?,
                },
            },
            "best_bid_ask" => {
                Event::BestBidAsk { asset_id: text(m.asset_id), best_bid: m.best_bid, best_ask: m.best_ask }
            }
            other => Event::Other { event_type: other },
        };
        on_event(event);
        Ok(())
    }
}

fn side(text: &[u8]) -> Option<Side> {
    if text.eq_ignore_ascii_case(b"BUY") {
        Some(Side::Buy)
    } else if text.eq_ignore_ascii_case(b"SELL") {
        Some(Side::Sell)
    } else {
        None
    }
}

fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0')))
}

fn levels(s: &mut Scanner<'_>, out: &mut Vec<Level>) -> Result<(), FrameError> {
    s.array(|s| {
        let (mut price, mut size) = (None, None);
        s.object(|key, s| match key {
            b"price" => s.scalar().map(|t| price = parse_price(t)),
            b"size" => s.scalar().map(|t| size = parse_size(t)),
            _ => s.skip(),
        })?;
        match (price, size) {
            (Some(price), Some(size)) => {
                out.push(Level { price, size });
                Ok(())
            }
            _ => Err(s.error("a level with a price on the grid and a size")),
        }
    })
}

fn change(s: &mut Scanner<'_>, out: &mut Vec<RawChange>) -> Result<(), FrameError> {
    let (mut asset_id, mut hash) = (Span::default(), Span::default());
    let (mut price, mut size, mut side_of, mut best_bid, mut best_ask) = (None, None, None, None, None);
    s.object(|key, s| match key {
        b"asset_id" => s.string_span().map(|v| asset_id = v),
        b"hash" => s.string_span().map(|v| hash = v),
        b"price" => s.scalar().map(|t| price = parse_price(t)),
        b"size" => s.scalar().map(|t| size = parse_size(t)),
        b"side" => s.scalar().map(|t| side_of = side(t)),
        b"best_bid" => s.scalar().map(|t| best_bid = parse_price(t)),
        b"best_ask" => s.scalar().map(|t| best_ask = parse_price(t)),
        _ => s.skip(),
    })?;
    match (price, size, side_of) {
        (Some(price), Some(size), Some(side)) => {
            out.push(RawChange { asset_id, hash, level: Level { price, size }, side, best_bid, best_ask });
            Ok(())
        }
        _ => Err(s.error("a change with a price on the grid, a size and a side")),
    }
}

/// A forward-only reader of one JSON value's bytes.
struct Scanner<'f> {
    b: &'f [u8],
    i: usize,
}

impl<'f> Scanner<'f> {
    fn error(&self, what: &'static str) -> FrameError {
        FrameError { at: self.i, what }
    }

    fn peek(&mut self) -> Option<u8> {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                return Some(*c);
            }
        }
        None
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), FrameError> {
        if self.eat(c) { Ok(()) } else { Err(self.error(what)) }
    }

    /// A string's raw contents (escapes left as written: the members read here never carry
    /// any, and a member that did would simply not match).
    fn string_raw(&mut self) -> Result<(usize, usize), FrameError> {
        self.expect(b'"', "a string")?;
        let start = self.i;
        loop {
            match self.b.get(self.i) {
                None => return Err(self.error("the end of a string")),
                Some(b'"') => {
                    let end = self.i;
                    self.i += 1;
                    return Ok((start, end));
                }
                Some(b'\\') => self.i += 2,
                Some(_) => self.i += 1,
            }
        }
    }

    fn string_span(&mut self) -> Result<Span, FrameError> {
        let (start, end) = self.string_raw()?;
        let fits = |n: usize| u32::try_from(n).map_err(|_| self.error("a frame under 4 GiB"));
        Ok(Span { start: fits(start)?, end: fits(end)? })
    }

    /// A string's contents or a number's text.
    fn scalar(&mut self) -> Result<&'f [u8], FrameError> {
        if self.peek() == Some(b'"') {
            let (start, end) = self.string_raw()?;
            return Ok(&self.b[start..end]);
        }
        let start = self.i;
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
        if self.i == start { Err(self.error("a value")) } else { Ok(&self.b[start..self.i]) }
    }

    fn object(
        &mut self,
        mut member: impl FnMut(&'f [u8], &mut Self) -> Result<(), FrameError>,
    ) -> Result<(), FrameError> {
        self.expect(b'{', "an object")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let (start, end) = self.string_raw()?;
            let key = &self.b[start..end];
            self.expect(b':', "`:` after a key")?;
            member(key, self)?;
            if self.eat(b',') {
                continue;
            }
            return self.expect(b'}', "`,` or `}` in an object");
        }
    }

    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Result<(), FrameError>) -> Result<(), FrameError> {
        self.expect(b'[', "an array")?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            item(self)?;
            if self.eat(b',') {
                continue;
            }
            return self.expect(b']', "`,` or `]` in an array");
        }
    }

    /// Passes over one value of any kind.
    fn skip(&mut self) -> Result<(), FrameError> {
        match self.peek() {
            Some(b'{') => self.object(|_, s| s.skip()),
            Some(b'[') => self.array(Self::skip),
            Some(b'"') => self.string_raw().map(|_| ()),
            Some(_) => self.scalar().map(|_| ()),
            None => Err(self.error("a value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = r#"{"event_type":"book","asset_id":"65818619657568813474341868652308942079804919287380422192892211131408793125422","market":"0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af","bids":[{"price":".48","size":"30"},{"price":".49","size":"20"}],"asks":[{"price":".52","size":"25.5"}],"timestamp":"123456789000","hash":"0x0abc","extra":{"nested":[1,2,{"a":null}]}}"#;

    #[test]
    fn a_book_is_read_in_place() {
        let mut p = Parser::default();
        let mut seen = 0;
        let n = p
            .parse(BOOK, |e| {
                seen += 1;
                let Event::Book { asset_id, market, timestamp_ms, hash, bids, asks } = e else { panic!("{e:?}") };
                assert!(asset_id.starts_with("6581"));
                assert!(market.starts_with("0xbd31"));
                assert_eq!((timestamp_ms, hash), (123_456_789_000, "0x0abc"));
                assert_eq!(bids, [Level { price: 4_800, size: 30_000_000 }, Level { price: 4_900, size: 20_000_000 }]);
                assert_eq!(asks, [Level { price: 5_200, size: 25_500_000 }]);
            })
            .expect("parsed");
        assert_eq!((n, seen), (1, 1));
    }

    #[test]
    fn an_array_of_events_and_every_type() {
        let frame = r#"[
          {"market":"0x1","price_changes":[
             {"asset_id":"1","price":"0.5","size":"200","side":"BUY","hash":"h1","best_bid":"0.5","best_ask":"0.51"},
             {"asset_id":"2","price":"0.49","size":"0","side":"SELL","hash":"h2","best_bid":"0.48","best_ask":"0.49"}],
           "timestamp":"1757908892351","event_type":"price_change"},
          {"event_type":"tick_size_change","asset_id":"1","market":"0x1","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"1"},
          {"event_type":"last_trade_price","asset_id":"1","market":"0x1","price":"0.456","side":"BUY","size":"219.217767","fee_rate_bps":"0","timestamp":"1"},
          {"event_type":"best_bid_ask","asset_id":"1","market":"0x1","best_bid":"0.73","best_ask":"0.77","spread":"0.04","timestamp":"1"},
          {"event_type":"new_market","id":"1"}
        ]"#;
        let mut p = Parser::default();
        let mut kinds = 0;
        p.parse(frame, |e| {
            match e {
                Event::PriceChange { market, timestamp_ms, changes } => {
                    assert_eq!((market, timestamp_ms, changes.len()), ("0x1", 1_757_908_892_351, 2));
                    let all: Vec<Change<'_>> = changes.iter().collect();
                    assert_eq!(all[0].asset_id, "1");
                    assert_eq!(
                        (all[0].side, all[0].level, all[0].hash),
                        (Side::Buy, Level { price: 5_000, size: 200_000_000 }, "h1")
                    );
                    assert_eq!((all[0].best_bid, all[0].best_ask), (Some(5_000), Some(5_100)));
                    assert_eq!((all[1].side, all[1].level.size), (Side::Sell, 0));
                }
                Event::TickSizeChange { asset_id, new_tick } => assert_eq!((asset_id, new_tick), ("1", 10)),
                Event::LastTradePrice { side, level, .. } => {
                    assert_eq!((side, level), (Some(Side::Buy), Level { price: 4_560, size: 219_217_767 }));
                }
                Event::BestBidAsk { best_bid, best_ask, .. } => {
                    assert_eq!((best_bid, best_ask), (Some(7_300), Some(7_700)))
                }
                Event::Other { event_type } => assert_eq!(event_type, "new_market"),
                Event::Book { .. } => panic!("no book here"),
            }
            kinds += 1;
        })
        .expect("parsed");
        assert_eq!(kinds, 5);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let mut p = Parser::default();
        for bad in [
            "",
            "nope",
            "{",
            r#"{"event_type":"book","bids":[{"price":"0.5"}]}"#,
            r#"{"event_type":"book","bids":[{"price":"2","size":"1"}]}"#,
            r#"{"event_type":"price_change","price_changes":[{"price":"0.5","size":"1","side":"HOLD"}]}"#,
            r#"{"event_type":"tick_size_change","new_tick_size":"0"}"#,
            r#"{"event_type":"book","timestamp":"soon"}"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":1} trailing"#,
            r#"[{"event_type":"x"},]"#,
        ] {
            assert!(p.parse(bad, |_| {}).is_err(), "{bad:?}");
        }
        // Every prefix of a real frame is refused, never a panic.
        for end in 0..BOOK.len() {
            if let Some(prefix) = BOOK.get(..end) {
                assert!(p.parse(prefix, |_| {}).is_err(), "{prefix:?}");
            }
        }
    }
}
