//! Name tables for the invented borough: given and family names by cultural background, with a
//! frequency skew, and the nicknames reporters and source systems use instead of formal names.

use crate::rng::Zipf;
use rand::Rng;

/// One cultural background in the borough's population: its family names and its children's
/// given names, each list ordered from most to least common.
pub(crate) struct Culture {
    pub family: &'static [&'static str],
    pub girls: &'static [&'static str],
    pub boys: &'static [&'static str],
    /// Share of households, in percent.
    pub share: u32,
}

const BRITISH_FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
    "Mason",
    "Hunt",
    "Campbell",
    "Matthews",
    "Owen",
    "Palmer",
    "Holmes",
    "Mills",
    "Barnes",
    "Knight",
    "Lloyd",
    "Butler",
    "Russell",
    "Barker",
    "Fisher",
    "Stevens",
    "Jenkins",
    "Murray",
    "Dixon",
    "Harvey",
    "Graham",
    "Pearson",
    "Fletcher",
    "Walsh",
    "Gibson",
    "Howard",
    "Andrews",
    "Stewart",
    "Elliott",
    "Reynolds",
    "Saunders",
    "Payne",
    "Fox",
    "Ford",
    "Pearce",
    "Brooks",
    "O'Brien",
    "O'Connor",
    "McCarthy",
    "O'Neill",
    "McDonald",
    "Doyle",
    "Byrne",
    "Gallagher",
    "Ashworth",
    "Greenhalgh",
    "Threlfall",
    "Pickering",
    "Ainsworth",
    "Hargreaves",
    "Openshaw",
    "Whitworth",
    "Sowerby",
    "Fairclough",
];

const BRITISH_GIRLS: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Lily",
    "Isabella",
    "Grace",
    "Freya",
    "Emily",
    "Ella",
    "Poppy",
    "Evie",
    "Charlotte",
    "Sophie",
    "Ruby",
    "Jessica",
    "Chloe",
    "Lucy",
    "Millie",
    "Ellie",
    "Katherine",
    "Elizabeth",
    "Megan",
    "Holly",
    "Hannah",
    "Lauren",
    "Amy",
    "Abigail",
    "Eleanor",
    "Georgia",
    "Molly",
    "Scarlett",
    "Erin",
    "Leah",
    "Rebecca",
    "Victoria",
    "Jasmine",
    "Niamh",
    "Caitlin",
    "Bethany",
    "Samantha",
    "Jennifer",
    "Natalie",
    "Stephanie",
    "Alexandra",
    "Gabriella",
    "Matilda",
    "Florence",
    "Daisy",
    "Phoebe",
    "Alice",
    "Rosie",
    "Willow",
    "Evelyn",
    "Sienna",
    "Harper",
    "Madison",
    "Summer",
    "Layla",
    "Esme",
    "Penelope",
    "Josephine",
    "Zoë",
    "Paige",
    "Keira",
    "Courtney",
    "Jade",
    "Shanice",
    "Tia",
    "Francesca",
    "Margaret",
    "Isabelle",
    "Kimberley",
];

const BRITISH_BOYS: &[&str] = &[
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Noah",
    "Charlie",
    "Jacob",
    "Thomas",
    "Oscar",
    "William",
    "James",
    "Leo",
    "Alfie",
    "Joshua",
    "Freddie",
    "Archie",
    "Henry",
    "Ethan",
    "Daniel",
    "Samuel",
    "Joseph",
    "Benjamin",
    "Alexander",
    "Theodore",
    "Edward",
    "Max",
    "Isaac",
    "Lucas",
    "Mason",
    "Logan",
    "Dylan",
    "Matthew",
    "Nathan",
    "Ryan",
    "Lewis",
    "Callum",
    "Connor",
    "Jordan",
    "Kyle",
    "Liam",
    "Tyler",
    "Bradley",
    "Jamie",
    "Aaron",
    "Christopher",
    "Michael",
    "Robert",
    "Jonathan",
    "Anthony",
    "Nicholas",
    "Zachary",
    "Frederick",
    "Sebastian",
    "Jayden",
    "Kai",
    "Riley",
    "Rhys",
    "Owen",
    "Dexter",
    "Ronnie",
    "Louie",
    "Stanley",
    "Reuben",
    "Elijah",
    "Harrison",
    "Andrew",
    "Gabriel",
    "Tommy",
    "Arthur",
    "Finley",
    "Teddy",
    "Albie",
    "Declan",
    "Kieran",
];

const SOUTH_ASIAN_FAMILY: &[&str] = &[
    "Patel", "Khan", "Ali", "Hussain", "Ahmed", "Singh", "Shah", "Rahman", "Mahmood", "Iqbal", "Akhtar", "Chaudhry",
    "Mistry", "Sharma", "Kumar", "Miah", "Islam", "Uddin", "Sandhu", "Gill", "Parmar", "Bhatti", "Aslam", "Raza",
];

const SOUTH_ASIAN_GIRLS: &[&str] = &[
    "Aisha", "Maryam", "Zainab", "Fatima", "Hafsa", "Amira", "Aaliyah", "Inaya", "Anaya", "Priya", "Simran", "Ayesha",
    "Sana", "Noor", "Hania", "Harleen",
];

const SOUTH_ASIAN_BOYS: &[&str] = &[
    "Muhammad", "Mohammed", "Ibrahim", "Yusuf", "Ayaan", "Zayn", "Hamza", "Arjun", "Rohan", "Aryan", "Ismail", "Bilal",
    "Imran", "Omar", "Harjit", "Abdullah",
];

const AFRICAN_FAMILY: &[&str] = &[
    "Okafor", "Adeyemi", "Mensah", "Osei", "Abdi", "Mohamed", "Hassan", "Okoro", "Adebayo", "Owusu", "Boateng", "Eze",
    "Nwosu", "Diallo", "Mwangi", "Ndlovu", "Farah", "Ogunleye", "Asante", "Kamara",
];

const AFRICAN_GIRLS: &[&str] = &[
    "Amara",
    "Chiamaka",
    "Nkechinyere",
    "Temitope",
    "Adaeze",
    "Ayan",
    "Hodan",
    "Efua",
    "Blessing",
    "Precious",
    "Favour",
    "Esther",
    "Oluwafunmilayo",
    "Ifeoluwa",
];

const AFRICAN_BOYS: &[&str] = &[
    "Oluwaseun",
    "Oluwatobi",
    "Chukwuemeka",
    "Kwame",
    "Kofi",
    "Emmanuel",
    "Abdirahman",
    "Kwabena",
    "Babatunde",
    "Ayodele",
    "Olumide",
    "Chinedu",
    "Tendai",
    "Mustafa",
];

const EAST_EUROPEAN_FAMILY: &[&str] = &[
    "Nowak",
    "Wójcik",
    "Kowalczyk",
    "Mazur",
    "Krawczyk",
    "Zając",
    "Król",
    "Wróbel",
    "Dudek",
    "Pawlak",
    "Sikora",
    "Baran",
    "Popescu",
    "Ionescu",
    "Popa",
    "Dumitru",
    "Constantin",
];

const EAST_EUROPEAN_GIRLS: &[&str] = &[
    "Zuzanna",
    "Zofia",
    "Julia",
    "Maja",
    "Natalia",
    "Wiktoria",
    "Oliwia",
    "Alicja",
    "Ioana",
    "Andreea",
    "Katarzyna",
    "Aleksandra",
];

const EAST_EUROPEAN_BOYS: &[&str] = &[
    "Jakub",
    "Szymon",
    "Kacper",
    "Filip",
    "Mateusz",
    "Antoni",
    "Wojciech",
    "Andrei",
    "Mihai",
    "Stefan",
    "Aleksander",
    "Dawid",
];

const OTHER_FAMILY: &[&str] = &[
    "Chen", "Wong", "Li", "Zhang", "Nguyen", "Tran", "Yilmaz", "Kaya", "Demir", "Silva", "Santos", "Ferreira", "Costa",
    "Rossi", "Pereira",
];

const OTHER_GIRLS: &[&str] = &["Mei", "Lin", "Elif", "Zeynep", "Beatriz", "Mariana", "Linh", "Thao", "Ana", "Giulia"];

const OTHER_BOYS: &[&str] = &["Wei", "Jun", "Hao", "Emre", "Mehmet", "Tiago", "João", "Rafael", "Minh", "Duc"];

pub(crate) const CULTURES: &[Culture] = &[
    Culture { family: BRITISH_FAMILY, girls: BRITISH_GIRLS, boys: BRITISH_BOYS, share: 68 },
    Culture { family: SOUTH_ASIAN_FAMILY, girls: SOUTH_ASIAN_GIRLS, boys: SOUTH_ASIAN_BOYS, share: 13 },
    Culture { family: AFRICAN_FAMILY, girls: AFRICAN_GIRLS, boys: AFRICAN_BOYS, share: 7 },
    Culture { family: EAST_EUROPEAN_FAMILY, girls: EAST_EUROPEAN_GIRLS, boys: EAST_EUROPEAN_BOYS, share: 7 },
    Culture { family: OTHER_FAMILY, girls: OTHER_GIRLS, boys: OTHER_BOYS, share: 5 },
];

/// Formal given names and the short forms people use for them. The first short form is the
/// most usual one.
pub(crate) const NICKNAMES: &[(&str, &[&str])] = &[
    ("William", &["Will", "Bill", "Liam", "Billy"]),
    ("Katherine", &["Kate", "Katie", "Kath"]),
    ("Elizabeth", &["Beth", "Liz", "Lizzie", "Eliza"]),
    ("Robert", &["Rob", "Bobby", "Robbie"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("James", &["Jamie", "Jim", "Jimmy"]),
    ("Joseph", &["Joe", "Joey"]),
    ("Daniel", &["Dan", "Danny"]),
    ("Michael", &["Mike", "Mikey", "Mick"]),
    ("Matthew", &["Matt", "Matty"]),
    ("Christopher", &["Chris", "Kit"]),
    ("Alexander", &["Alex", "Xander", "Alfie"]),
    ("Alexandra", &["Alex", "Lexi", "Sasha"]),
    ("Benjamin", &["Ben", "Benji"]),
    ("Samuel", &["Sam", "Sammy"]),
    ("Samantha", &["Sam", "Sammie"]),
    ("Nicholas", &["Nick", "Nicky"]),
    ("Jonathan", &["Jon", "Jonny"]),
    ("Anthony", &["Tony", "Ant"]),
    ("Andrew", &["Andy", "Drew"]),
    ("Edward", &["Ed", "Eddie", "Ted"]),
    ("Henry", &["Harry", "Hal"]),
    ("Charlotte", &["Lottie", "Charlie"]),
    ("Joshua", &["Josh"]),
    ("Jacob", &["Jake"]),
    ("Nathan", &["Nate", "Nat"]),
    ("Oliver", &["Ollie", "Olly"]),
    ("Frederick", &["Freddie", "Fred"]),
    ("Theodore", &["Theo", "Teddy"]),
    ("Zachary", &["Zach", "Zack"]),
    ("Harrison", &["Harry", "Harri"]),
    ("Jessica", &["Jess", "Jessie"]),
    ("Rebecca", &["Becky", "Becca"]),
    ("Victoria", &["Vicky", "Tori"]),
    ("Jennifer", &["Jenny", "Jen"]),
    ("Margaret", &["Maggie", "Meg", "Peggy"]),
    ("Abigail", &["Abbie", "Abi", "Gail"]),
    ("Olivia", &["Liv", "Livvy"]),
    ("Isabella", &["Bella", "Izzy"]),
    ("Isabelle", &["Izzy", "Belle"]),
    ("Amelia", &["Millie", "Amy", "Mia"]),
    ("Emily", &["Em", "Emmy"]),
    ("Eleanor", &["Ellie", "Nell"]),
    ("Natalie", &["Nat", "Tally"]),
    ("Gabriel", &["Gabe"]),
    ("Gabriella", &["Gabby", "Ella"]),
    ("Sophie", &["Soph"]),
    ("Madison", &["Maddie", "Maddy"]),
    ("Matilda", &["Tilly", "Tilda"]),
    ("Florence", &["Flo", "Florrie"]),
    ("Evelyn", &["Evie", "Eve"]),
    ("Penelope", &["Penny", "Nell"]),
    ("Josephine", &["Josie", "Jo"]),
    ("Stephanie", &["Steph"]),
    ("Francesca", &["Fran", "Frankie", "Chessie"]),
    ("Kimberley", &["Kim", "Kimmy"]),
    ("Sebastian", &["Seb", "Bas"]),
    ("Bradley", &["Brad"]),
    ("Jordan", &["Jordy"]),
    ("Callum", &["Cal"]),
    ("Stanley", &["Stan"]),
    ("Reuben", &["Rubes"]),
    ("Arthur", &["Art", "Artie"]),
    ("Finley", &["Finn", "Fin"]),
    ("Muhammad", &["Mo", "Moe"]),
    ("Mohammed", &["Mo", "Mohammad"]),
    ("Ibrahim", &["Ibi"]),
    ("Abdullah", &["Abdul"]),
    ("Oluwaseun", &["Seun"]),
    ("Oluwatobi", &["Tobi"]),
    ("Chukwuemeka", &["Emeka"]),
    ("Babatunde", &["Tunde"]),
    ("Nkechinyere", &["Nkechi"]),
    ("Chiamaka", &["Amaka"]),
    ("Temitope", &["Temi", "Tope"]),
    ("Oluwafunmilayo", &["Funmi"]),
    ("Ifeoluwa", &["Ife"]),
    ("Katarzyna", &["Kasia"]),
    ("Aleksandra", &["Ola"]),
    ("Aleksander", &["Olek"]),
    ("Wojciech", &["Wojtek"]),
    ("Abdirahman", &["Abdi"]),
];

/// A nickname for `formal`, if people commonly use one.
pub(crate) fn nickname(rng: &mut impl Rng, formal: &str) -> Option<&'static str> {
    let (_, short) = NICKNAMES.iter().find(|(f, _)| *f == formal)?;
    // The usual short form half the time, any of them otherwise.
    if rng.random_bool(0.5) {
        short.first().copied()
    } else {
        short.get(rng.random_range(0..short.len().max(1))).copied()
    }
}

/// Frequency-skewed pickers for one culture's names, built once per generation.
pub(crate) struct NamePicker {
    cultures: Zipf,
    family: Vec<Zipf>,
    girls: Vec<Zipf>,
    boys: Vec<Zipf>,
}

impl NamePicker {
    pub(crate) fn new() -> Self {
        Self {
            cultures: Zipf::from_weights(CULTURES.iter().map(|c| f64::from(c.share))),
            family: CULTURES.iter().map(|c| Zipf::new(c.family.len(), 1.0)).collect(),
            girls: CULTURES.iter().map(|c| Zipf::new(c.girls.len(), 0.9)).collect(),
            boys: CULTURES.iter().map(|c| Zipf::new(c.boys.len(), 0.9)).collect(),
        }
    }

    /// Index into [`CULTURES`] of a household's background.
    pub(crate) fn culture(&self, rng: &mut impl Rng) -> usize {
        self.cultures.sample(rng)
    }

    pub(crate) fn family(&self, rng: &mut impl Rng, culture: usize) -> &'static str {
        let (Some(c), Some(z)) = (CULTURES.get(culture), self.family.get(culture)) else {
            return "Smith";
        };
        c.family.get(z.sample(rng)).copied().unwrap_or("Smith")
    }

    pub(crate) fn given(&self, rng: &mut impl Rng, culture: usize, girl: bool) -> &'static str {
        let fallback = if girl { "Amy" } else { "Sam" };
        let (Some(c), Some(z)) =
            (CULTURES.get(culture), if girl { self.girls.get(culture) } else { self.boys.get(culture) })
        else {
            return fallback;
        };
        let list = if girl { c.girls } else { c.boys };
        list.get(z.sample(rng)).copied().unwrap_or(fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use frontdoor_core::PersonName;
    use std::collections::BTreeSet;

    #[test]
    fn tables_are_large_diverse_and_parse() {
        let family: BTreeSet<_> = CULTURES.iter().flat_map(|c| c.family.iter()).collect();
        let given: BTreeSet<_> = CULTURES.iter().flat_map(|c| c.girls.iter().chain(c.boys.iter())).collect();
        assert!(family.len() >= 150, "{} family names", family.len());
        assert!(given.len() >= 150, "{} given names", given.len());
        for name in family.iter().chain(given.iter()) {
            assert!(PersonName::parse(name).is_ok(), "{name}");
        }
        assert!(NICKNAMES.len() >= 60);
        for (formal, short) in NICKNAMES {
            assert!(!short.is_empty(), "{formal}");
            assert!(short.iter().all(|s| PersonName::parse(s).is_ok()));
        }
        assert_eq!(CULTURES.iter().map(|c| c.share).sum::<u32>(), 100);
    }

    #[test]
    fn no_duplicate_names_within_a_list() {
        for c in CULTURES {
            for list in [c.family, c.girls, c.boys] {
                let set: BTreeSet<_> = list.iter().collect();
                assert_eq!(set.len(), list.len(), "duplicate in {:?}", list.first());
            }
        }
    }
}
