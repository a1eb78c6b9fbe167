//! The invented geography of Wrenhollow: districts under the made-up postcode area `WK` (not a
//! real UK area), streets with one postcode each, and phone numbers from Ofcom's ranges reserved
//! for drama, so no generated number can ring anyone.

use crate::rng::{chance, pick};
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::BTreeSet;

/// The invented postcode area. `WK` is not a real UK postcode area.
pub(crate) const AREA: &str = "WK";

/// Districts: postcode district number and neighbourhood name.
pub(crate) const DISTRICTS: &[(u8, &str)] = &[
    (1, "Wrenhollow Town Centre"),
    (2, "Heronfield"),
    (3, "Tallowgate"),
    (4, "Millbeck"),
    (5, "Cinderbank"),
    (6, "Larkhollow"),
    (7, "Ashenmoor"),
    (8, "Sedgecombe"),
    (9, "Brackenwold"),
    (10, "Foxhollow Green"),
    (11, "Kestrel Vale"),
];

const STREET_STEMS: &[&str] = &[
    "Kestrel",
    "Heron",
    "Tallow",
    "Millbeck",
    "Ashen",
    "Cinder",
    "Larkspur",
    "Foxglove",
    "Wren",
    "Bramble",
    "Copper",
    "Hollin",
    "Quarry",
    "Chapel",
    "Station",
    "Church",
    "Mill",
    "Orchard",
    "Meadow",
    "Willow",
    "Rowan",
    "Alder",
    "Hazel",
    "Linnet",
    "Plover",
    "Sedge",
    "Thistle",
    "Yew",
    "Lantern",
    "Barley",
    "Saltings",
    "Tanner",
    "Weaver",
    "Cobbler",
    "Furnace",
    "Lockkeeper",
    "Marsh",
    "Pennant",
    "Gorse",
    "Bilberry",
    "Coldwell",
    "Sparrow",
    "Fieldfare",
    "Brindle",
    "Oatlands",
    "Loom",
    "Kiln",
    "Ropewalk",
];

const STREET_TYPES: &[&str] = &[
    "Road", "Street", "Lane", "Close", "Avenue", "Way", "Drive", "Crescent", "Rise", "Grove", "Court", "Gardens",
    "Walk", "Terrace", "Place",
];

/// Letters used in the unit part of real inward codes (C, I, K, M, O and V never appear).
const UNIT_LETTERS: &[char] =
    &['A', 'B', 'D', 'E', 'F', 'G', 'H', 'J', 'L', 'N', 'P', 'Q', 'R', 'S', 'T', 'U', 'W', 'X', 'Y', 'Z'];

#[derive(Debug, Clone)]
pub(crate) struct Street {
    pub name: String,
    pub district: &'static str,
    pub postcode: String,
}

/// Where a household lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Home {
    pub street: usize,
    pub address: String,
    pub postcode: String,
}

pub(crate) struct Places {
    pub streets: Vec<Street>,
    used: BTreeSet<(usize, String)>,
}

impl Places {
    /// Enough streets for `households` at roughly eight households to a street.
    pub(crate) fn generate(rng: &mut impl Rng, households: usize) -> Self {
        let wanted = (households / 8).max(24);
        let mut names = BTreeSet::new();
        let mut postcodes = BTreeSet::new();
        let mut streets = Vec::with_capacity(wanted);
        // Street names repeat across districts (there is a Mill Lane in more than one), but
        // never within one; postcodes never repeat.
        let mut attempts = 0;
        while streets.len() < wanted && attempts < wanted * 50 {
            attempts += 1;
            let (number, district) = pick(rng, DISTRICTS);
            let name = format!("{} {}", pick(rng, STREET_STEMS), pick(rng, STREET_TYPES));
            if !names.insert((district, name.clone())) {
                continue;
            }
            // Each district holds 9 x 20 x 20 unit postcodes; give up on a street whose
            // district is full rather than loop for ever.
            let postcode = (0..50).find_map(|_| {
                let p = format!(
                    "{AREA}{number} {}{}{}",
                    rng.random_range(1..=9u8),
                    pick(rng, UNIT_LETTERS),
                    pick(rng, UNIT_LETTERS)
                );
                postcodes.insert(p.clone()).then_some(p)
            });
            if let Some(postcode) = postcode {
                streets.push(Street { name, district, postcode });
            }
        }
        Self { streets, used: BTreeSet::new() }
    }

    /// A new home at an address no other household has.
    pub(crate) fn home(&mut self, rng: &mut impl Rng) -> Home {
        let mut fallback = None;
        for _ in 0..100 {
            let street = rng.random_range(0..self.streets.len().max(1));
            let Some(s) = self.streets.get(street) else { break };
            let house = rng.random_range(1..=120u32);
            let line = if chance(rng, 0.15) {
                format!("Flat {}, {house} {}", rng.random_range(1..=24u32), s.name)
            } else {
                format!("{house} {}", s.name)
            };
            let home = Home { street, address: format!("{line}, {}", s.district), postcode: s.postcode.clone() };
            if self.used.insert((street, line)) {
                return home;
            }
            fallback = Some(home);
        }
        fallback.unwrap_or_else(|| Home {
            street: 0,
            address: "1 Kestrel Road, Wrenhollow Town Centre".to_owned(),
            postcode: format!("{AREA}1 1AA"),
        })
    }

    /// The street a postcode belongs to (`usize::MAX` if none does).
    pub(crate) fn street_of(&self, postcode: &str) -> usize {
        self.streets.iter().position(|s| s.postcode == postcode).unwrap_or(usize::MAX)
    }

    /// A home on a different street from `current` (a family that moved, or a mistyped entry).
    pub(crate) fn other_home(&mut self, rng: &mut impl Rng, current: &Home) -> Home {
        for _ in 0..20 {
            let h = self.home(rng);
            if h.street != current.street {
                return h;
            }
        }
        self.home(rng)
    }
}

/// Household phone numbers from the drama ranges (07700 900000–900999, 01632 960000–960999),
/// shuffled, each handed out once until they run out.
pub(crate) struct Phones {
    pool: Vec<String>,
}

impl Phones {
    pub(crate) fn new(rng: &mut impl Rng) -> Self {
        let mut pool: Vec<String> = (0..1000)
            .map(|n| format!("07700 900{n:03}"))
            .chain((0..1000).map(|n| format!("01632 960{n:03}")))
            .collect();
        pool.shuffle(rng);
        Self { pool }
    }

    pub(crate) fn next(&mut self) -> Option<String> {
        self.pool.pop()
    }

    /// Any number from the ranges, possibly one a household already has.
    pub(crate) fn any(rng: &mut impl Rng) -> String {
        if chance(rng, 0.7) {
            format!("07700 900{:03}", rng.random_range(0..1000))
        } else {
            format!("01632 960{:03}", rng.random_range(0..1000))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stage, stream};
    use frontdoor_core::Postcode;

    #[test]
    fn streets_have_unique_valid_postcodes_and_homes_unique_addresses() {
        let mut rng = stream(3, Stage::Places);
        let mut places = Places::generate(&mut rng, 2000);
        let codes: BTreeSet<_> = places.streets.iter().map(|s| s.postcode.clone()).collect();
        assert_eq!(codes.len(), places.streets.len());
        for c in &codes {
            assert_eq!(Postcode::parse(c).map(|p| p.as_str().to_owned()).as_deref(), Ok(c.as_str()));
        }
        let addresses: BTreeSet<_> = (0..1500).map(|_| places.home(&mut rng).address).collect();
        assert_eq!(addresses.len(), 1500);
    }
}
