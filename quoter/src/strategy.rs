//! What to quote. [`Strategy`] is the seam a market maker replaces; [`SpreadQuoter`] is the
//! documented default: one bid and one ask around a fair price (the mid, or the microprice
//! that leans towards the thinner side), a configured half-spread and size, both moved down
//! as inventory grows long (and up as it grows short) so fills pull it back to flat, no bid at
//! the long limit and no ask at the short one, and nothing at all on a stale, one-sided or
//! crossed book. Prices land on the book's tick grid and never cross the other side, so a
//! quote rests instead of taking.

use crate::book::TickBook;
use crate::fixed::{PRICE_UNITS, SIZE_UNITS};
use crate::frame::Side;

/// One order the strategy wants resting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub side: Side,
    /// Price units (0.0001).
    pub price: u32,
    /// Micro-shares.
    pub size: u64,
}

/// At most [`Quotes::CAPACITY`] quotes, held inline (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotes {
    len: usize,
    items: [Quote; Quotes::CAPACITY],
}

impl Default for Quotes {
    fn default() -> Self {
        Self { len: 0, items: [Quote { side: Side::Buy, price: 0, size: 0 }; Quotes::CAPACITY] }
    }
}

impl Quotes {
    pub const CAPACITY: usize = 8;

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Adds `q`; false (and nothing added) when full.
    pub fn push(&mut self, q: Quote) -> bool {
        if self.len == Self::CAPACITY {
            return false;
        }
        self.items[self.len] = q;
        self.len += 1;
        true
    }

    pub fn as_slice(&self) -> &[Quote] {
        &self.items[..self.len]
    }
}

/// Turns a book and a position into the quotes wanted now.
pub trait Strategy {
    /// Writes into `out` (cleared by the caller) the quotes wanted for `book` with
    /// `inventory` micro-shares held (negative: short).
    fn quotes(&mut self, book: &TickBook, inventory: i64, out: &mut Quotes);
}

/// Where the default strategy centres its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fair {
    Mid,
    /// `(bid·ask_size + ask·bid_size) / (bid_size + ask_size)`.
    Microprice,
}

/// The default strategy's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadSettings {
    pub fair: Fair,
    /// Distance from the fair price to each quote, in price units.
    pub half_spread: u32,
    /// Micro-shares per quote.
    pub size: u64,
    /// Price units both quotes move per whole share of inventory, in millionths (so 10_000
    /// moves them one unit per 100 shares).
    pub skew_per_share_micros: u64,
    /// No bid at or above this long inventory, no ask at or below its negative (micro-shares).
    pub max_inventory: i64,
}

#[derive(Debug, Clone)]
pub struct SpreadQuoter {
    pub settings: SpreadSettings,
}

impl SpreadQuoter {
    pub fn new(settings: SpreadSettings) -> Self {
        Self { settings }
    }
}

impl Strategy for SpreadQuoter {
    fn quotes(&mut self, book: &TickBook, inventory: i64, out: &mut Quotes) {
        let s = &self.settings;
        let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) else { return };
        if bid.price >= ask.price {
            return;
        }
        let fair = match s.fair {
            Fair::Mid => u64::from(bid.price + ask.price) / 2,
            Fair::Microprice => {
                let total = u128::from(bid.size) + u128::from(ask.size);
                if total == 0 {
                    return;
                }
                let weighted =
                    u128::from(bid.price) * u128::from(ask.size) + u128::from(ask.price) * u128::from(bid.size);
                u64::try_from(weighted / total).unwrap_or(u64::from(PRICE_UNITS))
            }
        };
        // Long inventory lowers both quotes, short raises them.
        let skew = (i128::from(inventory) * i128::from(s.skew_per_share_micros)) / i128::from(SIZE_UNITS) / 1_000_000;
        let centre = i128::from(fair) - skew;
        let tick = i128::from(book.tick());
        let floor = |p: i128| p.div_euclid(tick) * tick;
        let ceil = |p: i128| -(-p).div_euclid(tick) * tick;
        let lowest = tick;
        let highest = i128::from(PRICE_UNITS) - tick;
        // Never at or through the other side: a quote rests.
        let bid_price =
            floor(centre - i128::from(s.half_spread)).min(i128::from(ask.price) - tick).clamp(lowest, highest);
        let ask_price =
            ceil(centre + i128::from(s.half_spread)).max(i128::from(bid.price) + tick).clamp(lowest, highest);
        if bid_price >= ask_price || s.size == 0 {
            return;
        }
        if inventory < s.max_inventory
            && let Ok(price) = u32::try_from(bid_price)
        {
            out.push(Quote { side: Side::Buy, price, size: s.size });
        }
        if inventory > -s.max_inventory
            && let Ok(price) = u32::try_from(ask_price)
        {
            out.push(Quote { side: Side::Sell, price, size: s.size });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Level;

    fn book(bid: (u32, u64), ask: (u32, u64)) -> TickBook {
        let mut b = TickBook::new("1", 100);
        b.apply_snapshot("0x1", 1, &[Level { price: bid.0, size: bid.1 }], &[Level { price: ask.0, size: ask.1 }]);
        b
    }

    fn settings() -> SpreadSettings {
        SpreadSettings {
            fair: Fair::Mid,
            half_spread: 200,
            size: 10 * SIZE_UNITS,
            skew_per_share_micros: 1_000_000, // one unit per share
            max_inventory: 500 * SIZE_UNITS as i64,
        }
    }

    fn quote(s: SpreadSettings, b: &TickBook, inventory: i64) -> Vec<Quote> {
        let mut out = Quotes::default();
        SpreadQuoter::new(s).quotes(b, inventory, &mut out);
        out.as_slice().to_vec()
    }

    #[test]
    fn quotes_straddle_the_mid_on_the_grid_and_lean_against_inventory() {
        let b = book((4_500, 100 * SIZE_UNITS), (5_500, 100 * SIZE_UNITS));
        let flat = quote(settings(), &b, 0);
        assert_eq!(
            flat,
            [
                Quote { side: Side::Buy, price: 4_800, size: 10 * SIZE_UNITS },
                Quote { side: Side::Sell, price: 5_200, size: 10 * SIZE_UNITS }
            ]
        );
        // 150 shares long: both move 150 units down, onto the grid.
        let long = quote(settings(), &b, 150 * SIZE_UNITS as i64);
        assert_eq!((long[0].price, long[1].price), (4_600, 5_100));
        // At the long limit: only the ask.
        let full = quote(settings(), &b, 500 * SIZE_UNITS as i64);
        assert_eq!(full.iter().map(|q| q.side).collect::<Vec<_>>(), [Side::Sell]);
        let short = quote(settings(), &b, -500 * SIZE_UNITS as i64);
        assert_eq!(short.iter().map(|q| q.side).collect::<Vec<_>>(), [Side::Buy]);
    }

    #[test]
    fn the_microprice_leans_to_the_thin_side_and_quotes_never_cross() {
        // A thin ask pulls the microprice up, towards it.
        let b = book((4_900, 900 * SIZE_UNITS), (5_100, 100 * SIZE_UNITS));
        let s = SpreadSettings { fair: Fair::Microprice, half_spread: 0, ..settings() };
        let q = quote(s, &b, 0);
        assert!(q[0].price < 5_100 && q[1].price > 4_900, "{q:?}");
        assert_eq!(q[0].price, 5_000, "one tick below the ask at most");
        // A wide half-spread on a tight book still rests inside [tick, 1 - tick].
        let edge = book((100, SIZE_UNITS), (200, SIZE_UNITS));
        let q = quote(SpreadSettings { half_spread: 5_000, ..settings() }, &edge, 0);
        assert_eq!(q[0].price, 100);
    }

    #[test]
    fn nothing_on_a_stale_one_sided_or_crossed_book() {
        let mut b = book((4_500, SIZE_UNITS), (5_500, SIZE_UNITS));
        b.mark_stale(crate::book::Stale::Gap);
        assert!(quote(settings(), &b, 0).is_empty());
        let mut one_sided = TickBook::new("1", 100);
        one_sided.apply_snapshot("0x1", 1, &[Level { price: 4_500, size: 1 }], &[]);
        assert!(quote(settings(), &one_sided, 0).is_empty());
        let crossed = book((5_500, SIZE_UNITS), (4_500, SIZE_UNITS));
        assert!(quote(settings(), &crossed, 0).is_empty());
    }
}
