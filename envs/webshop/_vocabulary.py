"""What the generated catalog is made of: product types per category, with their words, attributes and options.

Each `ProductType` is one search query of the original's scrape (products there were collected by category and
query): its breadcrumb, title words, the attributes a product of that type may have, its option groups and a
price band. The pools are written so that the original reward can tell their members apart: no two attributes
(or two values of one option group, after colour normalisation) score above 85 on ``token_set_ratio``, no
attribute is a substring of another or of the type's fixed texts, and option groups share no value.
tests/webshop/test_catalog.py checks all of that, so a new type cannot quietly make goals ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductType:
    category: str  #: beauty, food, fashion, furniture or electronics
    query: str
    breadcrumb: str  #: ``product_category``, levels joined by " › "
    heads: tuple[str, ...]  #: Title Case product nouns: "Clip in Hair Extensions"
    styles: tuple[str, ...]  #: title descriptors that are no attribute: "Wavy", "Slim"
    audiences: tuple[str, ...]  #: title endings: "for Women"
    attributes: tuple[str, ...]
    options: tuple[tuple[str, tuple[str, ...]], ...]  #: (group, values), groups in display order
    price: tuple[float, float]  #: typical low and high price, dollars
    features: tuple[str, ...]  #: bullet points any product of the type may carry (no attribute words)
    blurb: str  #: description sentence: what the product is for


def _t(category, query, breadcrumb, heads, styles, audiences, attributes, options, price, features, blurb):
    return ProductType(category, query, breadcrumb, tuple(heads.split("|")), tuple(styles.split("|")),
                       tuple(audiences.split("|")) if audiences else (), tuple(attributes.split("|")),
                       tuple((group, tuple(values.split("|"))) for group, values in options), price,
                       tuple(features.split("|")), blurb)


CATEGORIES = ("beauty", "food", "fashion", "furniture", "electronics")

_BEAUTY = "Beauty & Personal Care"
_FOOD = "Grocery & Gourmet Food"
_FASHION = "Clothing, Shoes & Jewelry"
_HOME = "Home & Kitchen"
_ELEC = "Electronics"

PRODUCT_TYPES: tuple[ProductType, ...] = (
    # --- beauty -------------------------------------------------------------------------------------------------
    _t("beauty", "hair extensions", f"{_BEAUTY} › Hair Care › Hair Extensions, Wigs & Accessories › Hair Extensions",
       "Clip in Hair Extensions|Hair Extensions|Hairpiece", "Straight|Wavy|Curly|Double Weft|Seamless",
       "for Women|for Girls", "natural looking|heat resistant|tangle free|human hair|easy to apply|thick ends",
       [("color", "jet black|chestnut brown|honey blonde|platinum blonde|auburn|ombre grey"),
        ("size", "14 inch|20 inch|8 inch")],
       (12.0, 60.0), "Clips in within seconds and blends with your own hair|Can be washed, styled and curled|"
       "Comes in a gift box with a storage bag", "Adds length and volume for everyday looks and special occasions"),
    _t("beauty", "shampoo", f"{_BEAUTY} › Hair Care › Shampoo & Conditioner › Shampoos",
       "Shampoo|Clarifying Shampoo|Moisturizing Shampoo", "Salon Formula|Daily|Professional|Gentle",
       "for Women and Men|for Curly Hair|for Color Treated Hair",
       "sulfate free|paraben free|tea tree|argan oil|cruelty free|biotin|keratin",
       [("size", "8 fl oz|16 fl oz|32 fl oz"), ("scent", "coconut|eucalyptus|lavender|unscented")],
       (6.0, 35.0), "Lathers richly and rinses clean|Safe for daily use|Made in small batches in the USA",
       "Cleanses hair and scalp while keeping them soft and manageable"),
    _t("beauty", "lipstick", f"{_BEAUTY} › Makeup › Lips › Lipstick",
       "Matte Lipstick|Liquid Lipstick|Lip Stain", "Velvet|Creamy|Satin|Classic", "for Women",
       "long lasting|waterproof|smudge proof|highly pigmented|vitamin e|moisturizing formula",
       [("color", "ruby red|nude beige|coral|plum|mauve|hot pink")],
       (5.0, 28.0), "Glides on smoothly in one stroke|Precision tip for a defined outline|Compact tube fits any purse",
       "Gives lips bold color with a comfortable feel"),
    _t("beauty", "face moisturizer", f"{_BEAUTY} › Skin Care › Face › Creams & Moisturizers › Face Moisturizers",
       "Face Moisturizer|Day Cream|Night Cream|Facial Lotion", "Lightweight|Rich|Whipped|Gel",
       "for Women|for Men|for Sensitive Skin",
       "hyaluronic acid|fragrance free|anti aging|oil free|spf 30|dermatologist tested|vitamin c",
       [("size", "1.7 oz|3.4 oz|0.5 oz")],
       (9.0, 55.0), "Absorbs quickly without a greasy feel|Wear alone or under makeup|Airless pump keeps it fresh",
       "Hydrates the skin and helps it feel smooth all day"),
    _t("beauty", "nail polish", f"{_BEAUTY} › Foot, Hand & Nail Care › Nail Art & Polish › Nail Polish",
       "Nail Polish|Gel Nail Polish|Nail Lacquer", "Glossy|Shimmer|Glitter|Classic", "",
       "quick dry|chip resistant|non toxic|uv led cured|high shine",
       [("color", "cherry red|lilac|teal|gold|midnight|white"), ("size", "0.5 fl oz|15 ml")],
       (4.0, 24.0), "Wide brush covers each nail in two coats|Works with any base and top coat|Easy to remove",
       "Paints nails with even, salon style color at home"),
    _t("beauty", "perfume", f"{_BEAUTY} › Fragrance › Women's › Eau de Parfum",
       "Eau de Parfum|Perfume Spray|Body Mist", "Floral|Fresh|Oriental|Woody", "for Women|for Men|Unisex",
       "travel size|alcohol free|hypoallergenic|vegan formula|gift set",
       [("size", "1 fl oz|3.4 fl oz|0.33 fl oz"), ("scent", "jasmine|vanilla|citrus|sandalwood")],
       (15.0, 120.0), "Fine mist sprayer|Layer it with matching lotion|Elegant glass bottle",
       "A signature fragrance for day and evening"),
    _t("beauty", "hair dryer", f"{_BEAUTY} › Hair Care › Styling Tools & Appliances › Hair Dryers & Accessories",
       "Hair Dryer|Blow Dryer|Ionic Hair Dryer", "Compact|Salon Grade|Foldable|Powerful", "",
       "negative ions|low noise|diffuser included|ceramic tourmaline|cool shot button|dual voltage",
       [("color", "black|rose gold|white")],
       (18.0, 150.0), "Three heat and two speed settings|Removable filter for easy cleaning|Long power cord",
       "Dries hair quickly with less frizz"),
    # --- food ---------------------------------------------------------------------------------------------------
    _t("food", "protein bars", f"{_FOOD} › Snack Foods › Bars › Protein Bars",
       "Protein Bars|Protein Snack Bars|Energy Bars", "Chewy|Crunchy|Soft Baked|Layered", "",
       "gluten free|high protein|low sugar|keto friendly|non gmo|plant based",
       [("flavor", "chocolate chip|peanut butter|salted caramel|mixed berry|birthday cake"),
        ("size", "12 count|6 pack|24 bars")],
       (15.0, 45.0), "Individually wrapped for on the go|A satisfying snack between meals|Made with real ingredients",
       "A filling snack for the gym, the office or the trail"),
    _t("food", "ground coffee", f"{_FOOD} › Beverages › Coffee, Tea & Cocoa › Coffee › Ground Coffee",
       "Ground Coffee|Whole Bean Coffee|Coffee Beans", "Medium Roast|Dark Roast|Light Roast|Breakfast Blend", "",
       "usda organic|fair trade|single origin|low acid|kosher certified|decaf",
       [("flavor", "french vanilla|hazelnut|original|mocha"), ("size", "12 ounce|2 pound|40 ounce")],
       (8.0, 40.0), "Roasted in small batches|Resealable bag keeps beans fresh|Works in drip and pour over",
       "Smooth, rich coffee for the morning cup"),
    _t("food", "herbal tea", f"{_FOOD} › Beverages › Coffee, Tea & Cocoa › Tea › Herbal",
       "Herbal Tea|Tea Bags|Loose Leaf Tea", "Calming|Detox|Bedtime|Wellness", "",
       "caffeine free|usda organic|non gmo|no artificial flavors|compostable bags",
       [("flavor", "chamomile|peppermint|ginger|hibiscus|lemon"), ("size", "20 count|100 count|48 count")],
       (5.0, 30.0), "Steep for five minutes in hot water|Enjoy hot or iced|Each bag individually sealed",
       "A soothing cup at any time of day"),
    _t("food", "beef jerky", f"{_FOOD} › Snack Foods › Jerky & Dried Meats › Jerky",
       "Beef Jerky|Jerky Sticks|Meat Snacks", "Original|Tender|Thick Cut|Small Batch", "",
       "high protein|gluten free|grass fed|no msg|zero sugar|keto friendly",
       [("flavor", "teriyaki|black pepper|sweet and spicy|smoked"), ("size", "3.25 ounce|10 ounce|1 pound")],
       (7.0, 45.0), "Resealable bag for the trail|Slow smoked over hardwood|Great for road trips",
       "A savory, protein packed snack"),
    _t("food", "olive oil", f"{_FOOD} › Pantry Staples › Oils, Vinegars & Salad Dressings › Oils › Olive",
       "Extra Virgin Olive Oil|Olive Oil|Cooking Oil", "Cold Pressed|Imported|Everyday|Robust", "",
       "first cold pressed|usda organic|kosher certified|non gmo|single estate",
       [("size", "500 ml|1 liter|16.9 fl oz|1 gallon")],
       (9.0, 50.0), "Dark glass bottle protects the flavor|Great for dressings and sauteing|Harvested this season",
       "Fruity oil for cooking, dipping and dressings"),
    _t("food", "dark chocolate", f"{_FOOD} › Snack Foods › Candy & Chocolate › Chocolate Bars",
       "Dark Chocolate Bar|Chocolate Bar|Chocolate Squares", "Rich|Smooth|Artisan|Intense", "",
       "fair trade|dairy free|soy free|vegan|low sugar|gluten free",
       [("flavor", "sea salt|almond|orange|raspberry|mint"), ("size", "3 ounce|12 pack|24 count")],
       (6.0, 40.0), "Made from ethically sourced cacao|Perfect for gifting|Snap into individual pieces",
       "A rich treat for chocolate lovers"),
    _t("food", "pasta sauce", f"{_FOOD} › Pantry Staples › Canned, Jarred & Packaged Foods › Sauces › Pasta Sauces",
       "Pasta Sauce|Marinara Sauce|Tomato Sauce", "Homestyle|Traditional|Chunky|Slow Simmered", "",
       "no sugar added|non gmo|low sodium|vegan|gluten free|keto friendly",
       [("flavor", "marinara|tomato basil|arrabbiata|garlic and herb"), ("size", "24 ounce|6 pack|15 ounce")],
       (4.0, 30.0), "Made with Italian tomatoes|Ready to heat and serve|Glass jar",
       "A ready sauce for pasta, pizza and more"),
    # --- fashion ------------------------------------------------------------------------------------------------
    _t("fashion", "womens dresses", f"{_FASHION} › Women › Clothing › Dresses › Casual",
       "Maxi Dress|Midi Dress|Summer Dress|Wrap Dress", "Floral|Boho|Casual|Flowy", "for Women",
       "short sleeve|long sleeve|elastic waist|machine wash|with pockets|v neck",
       [("color", "black|navy|floral print|wine red|yellow"), ("size", "small|medium|large|xl|xxl")],
       (18.0, 60.0), "Soft fabric that drapes nicely|Pairs with sandals or sneakers|Falls below the knee",
       "An easy dress for summer days, vacations and parties"),
    _t("fashion", "mens t-shirts", f"{_FASHION} › Men › Clothing › Shirts › T-Shirts",
       "T-Shirt|Crew Neck Tee|Graphic Tee|Henley Shirt", "Classic|Slim|Vintage|Everyday", "for Men",
       "cotton jersey|moisture wicking|tagless collar|machine wash|regular fit|short sleeve",
       [("color", "heather grey|navy|white|black|olive"), ("size", "small|medium|large|xl|xxl")],
       (8.0, 30.0), "Ribbed collar holds its shape|Pre shrunk|Layer it or wear it alone",
       "A wardrobe staple for every day"),
    _t("fashion", "running shoes", f"{_FASHION} › Men › Shoes › Athletic › Running › Road Running",
       "Running Shoes|Sneakers|Trail Runners", "Lightweight|Breathable|Cushioned|Sport", "for Men|for Women",
       "rubber sole|non slip|memory foam|arch support|lace up|mesh upper",
       [("color", "black|white|grey|blue|red"), ("size", "7|8|9|10|11|12")],
       (25.0, 120.0), "Grippy outsole for road and gym|Padded collar and tongue|Looks great with jeans",
       "Comfortable shoes for running, walking and workouts"),
    _t("fashion", "womens leggings", f"{_FASHION} › Women › Clothing › Active › Active Leggings",
       "Leggings|Yoga Pants|Workout Leggings", "High Waisted|Seamless|Sculpting|Everyday", "for Women",
       "tummy control|squat proof|four way stretch|side pockets|butt lift|quick drying",
       [("color", "black|charcoal|navy|burgundy|olive"), ("size", "small|medium|large|xl")],
       (12.0, 45.0), "Wide waistband stays in place|Soft brushed fabric|Flat seams prevent chafing",
       "Leggings for yoga, the gym and lounging"),
    _t("fashion", "mens jeans", f"{_FASHION} › Men › Clothing › Jeans",
       "Jeans|Denim Jeans|Straight Leg Jeans|Slim Fit Jeans", "Classic|Stretch|Washed|Distressed", "for Men",
       "button closure|zipper fly|relaxed fit|five pocket|machine wash",
       [("color", "medium blue|indigo|black|grey"), ("size", "30w x 30l|32w x 32l|36w x 34l|40w x 29l")],
       (20.0, 70.0), "Sturdy denim that softens with wear|Belt loops and riveted pockets|Sits at the waist",
       "Everyday jeans that go with anything"),
    _t("fashion", "crossbody bags", f"{_FASHION} › Women › Handbags & Wallets › Crossbody Bags",
       "Crossbody Bag|Shoulder Bag|Small Purse", "Chic|Mini|Quilted|Everyday", "for Women",
       "vegan leather|adjustable strap|zipper closure|rfid blocking|multiple compartments",
       [("color", "black|brown|beige|red|green")],
       (15.0, 60.0), "Fits a phone, keys and cards|Detachable strap|Gold tone hardware",
       "A handy bag for shopping, travel and nights out"),
    _t("fashion", "winter beanies", f"{_FASHION} › Women › Accessories › Hats & Caps › Skullies & Beanies",
       "Beanie Hat|Knit Hat|Winter Hat", "Cable Knit|Chunky|Slouchy|Cuffed", "for Women|for Men|Unisex",
       "fleece lined|one size|acrylic knit|pom pom|hand wash",
       [("color", "black|cream|grey|burgundy|camel")],
       (8.0, 30.0), "Stretchy knit fits most heads|Keeps ears warm|Great for skiing and walking the dog",
       "A warm hat for cold weather"),
    # --- furniture ----------------------------------------------------------------------------------------------
    _t("furniture", "office chair", f"{_HOME} › Furniture › Home Office Furniture › Home Office Chairs › Desk Chairs",
       "Office Chair|Desk Chair|Ergonomic Chair|Task Chair", "Mid Back|High Back|Mesh|Executive",
       "for Home Office",
       "lumbar support|height adjustable|swivel wheels|padded armrests|easy assembly|heavy duty",
       [("color", "black|grey|white|blue")],
       (50.0, 300.0), "Tilts and locks at any angle|Quiet casters roll on carpet and floors|Holds up to 250 lbs",
       "A comfortable seat for long work days"),
    _t("furniture", "bookshelf", f"{_HOME} › Furniture › Living Room Furniture › Bookcases",
       "Bookshelf|Bookcase|Display Shelf|Ladder Shelf", "Industrial|Modern|Open|Corner", "for Living Room",
       "solid wood|easy assembly|space saving|wall anchor|metal frame|storage cubes",
       [("color", "walnut|white|black|rustic brown|oak"), ("size", "3 tier|5 tier|4 tier")],
       (35.0, 200.0), "Holds books, plants and photos|Anti tip kit included|Fits small spaces",
       "Storage and display for books and decor"),
    _t("furniture", "coffee table", f"{_HOME} › Furniture › Living Room Furniture › Tables › Coffee Tables",
       "Coffee Table|Cocktail Table|Accent Table", "Round|Rectangle|Mid Century|Farmhouse", "for Living Room",
       "lift top|hidden storage|solid wood|easy assembly|glass top|tempered glass",
       [("color", "espresso|white|walnut|grey|natural")],
       (60.0, 350.0), "Lower shelf for magazines|Smooth edges|Sturdy build",
       "A centerpiece for the living room"),
    _t("furniture", "bed frame", f"{_HOME} › Furniture › Bedroom Furniture › Beds, Frames & Bases › Bed Frames",
       "Bed Frame|Platform Bed|Upholstered Bed", "Modern|Minimalist|Tufted|Classic", "",
       "no box spring|under bed storage|noise free|heavy duty|easy assembly|wood slats",
       [("color", "black|grey|white|espresso"), ("size", "twin|full|queen|king")],
       (90.0, 500.0), "Tools included|Center support legs|Fits standard mattresses",
       "A sturdy base for a good night's sleep"),
    _t("furniture", "tv stand", f"{_HOME} › Furniture › Living Room Furniture › TV & Media Furniture › TV Stands",
       "TV Stand|Media Console|Entertainment Center", "Farmhouse|Modern|Low Profile|Floating",
       "for Living Room|for Bedroom",
       "cable management|open shelves|sliding barn doors|easy assembly|led lights",
       [("color", "walnut|white|black|grey"), ("size", "32 inch|55 inch|70 inch")],
       (70.0, 400.0), "Holds game consoles and streaming boxes|Back openings for cords|Anti tip hardware",
       "Room for the TV and everything around it"),
    _t("furniture", "bar stools", f"{_HOME} › Furniture › Game & Recreation Room Furniture › Home Bar Furniture"
       " › Barstools", "Bar Stools|Counter Stools|Swivel Stools", "Set of 2|Modern|Backless|Industrial", "",
       "height adjustable|swivel seat|footrest|easy assembly|faux leather|metal legs",
       [("color", "black|white|grey|brown"), ("size", "24 inch|30 inch")],
       (60.0, 250.0), "Felt pads protect the floor|Wipes clean|Fits under most counters",
       "Seating for the kitchen island and the home bar"),
    _t("furniture", "storage ottoman", f"{_HOME} › Furniture › Living Room Furniture › Ottomans",
       "Storage Ottoman|Ottoman Bench|Foot Stool", "Tufted|Round|Square|Folding", "for Living Room|for Bedroom",
       "lift lid|faux leather|velvet fabric|foldable|easy clean",
       [("color", "grey|beige|navy|brown|pink")],
       (25.0, 150.0), "Seat, footrest and storage in one|Holds blankets and toys|Sturdy frame",
       "Extra seating with room to store"),
    # --- electronics --------------------------------------------------------------------------------------------
    _t("electronics", "wireless earbuds", f"{_ELEC} › Headphones, Earbuds & Accessories › Headphones & Earbuds"
       " › Earbud Headphones", "Wireless Earbuds|Bluetooth Earbuds|True Wireless Earphones",
       "Sport|Mini|Pro|In Ear", "",
       "noise cancelling|water resistant|long battery life|built in microphone|hands free calls|touch control",
       [("color", "black|white|navy|pink")],
       (15.0, 150.0), "Charging case included|Pairs with phones, tablets and laptops|Three sizes of ear tips",
       "Wireless sound for workouts, commutes and calls"),
    _t("electronics", "usb c cable", f"{_ELEC} › Computers & Accessories › Computer Accessories & Peripherals › Cables"
       " › USB Cables", "USB C Cable|Charging Cable|Charger Cord", "Braided|Short|Durable|Right Angle", "",
       "fast charging|data transfer|nylon braided|aluminum connectors|tangle proof",
       [("size", "3 ft|6 ft|10 ft"), ("pack", "2 pack|single|5 pack")],
       (6.0, 25.0), "Works with phones, tablets and laptops|Reinforced connectors|Tested for bending",
       "A dependable cable for charging and syncing"),
    _t("electronics", "bluetooth speaker", f"{_ELEC} › Portable Audio & Video › Portable Speakers & Docks"
       " › Portable Bluetooth Speakers", "Bluetooth Speaker|Portable Speaker|Wireless Speaker",
       "Mini|Outdoor|Party|Rugged", "",
       "waterproof|party mode|deep bass|long battery life|built in microphone|usb charging",
       [("color", "black|blue|red|grey")],
       (20.0, 180.0), "Loud, clear sound for any room|Strap for hanging|Pairs in seconds",
       "Music on the go, indoors and out"),
    _t("electronics", "hdmi cable", f"{_ELEC} › Television & Video › Accessories › Cables › HDMI Cables",
       "HDMI Cable|HDMI Cord|HDMI Adapter Cable", "Ultra Slim|Braided|Premium|Flat", "",
       "4k hdr|gold plated|ethernet channel|high speed|audio return",
       [("size", "3 feet|6 feet|15 feet"), ("pack", "2 pack|single|3 pack")],
       (6.0, 30.0), "Connects TVs, game consoles and laptops|Snug fitting connectors|Flexible jacket",
       "A clean picture from your device to the screen"),
    _t("electronics", "power bank", f"{_ELEC} › Cell Phones & Accessories › Accessories › Chargers & Power Adapters"
       " › Portable Power Banks", "Power Bank|Portable Charger|Battery Pack", "Slim|Compact|Rugged|Mini", "",
       "fast charging|dual usb|led display|wireless charging|airline approved",
       [("color", "black|white|blue"), ("size", "10000mah|26800mah|5000mah")],
       (15.0, 70.0), "Charges two devices at once|Pocket friendly size|Charging cable included",
       "Extra battery for phones and tablets away from an outlet"),
    _t("electronics", "security camera", f"{_ELEC} › Camera & Photo › Video Surveillance › Surveillance Cameras"
       " › Dome Cameras", "Security Camera|Indoor Camera|Outdoor Camera|Pet Camera", "Smart|Wireless|Mini|Pan Tilt",
       "for Home Security",
       "night vision|motion detection|two way audio|cloud storage|easy to install|weatherproof",
       [("color", "white|black"), ("size", "1 pack|2 pack|4 pack")],
       (20.0, 150.0), "Watch live from your phone|Alerts sent in real time|Mounting kit included",
       "Keeps an eye on the home, day and night"),
    _t("electronics", "laptop stand", f"{_ELEC} › Computers & Accessories › Laptop Accessories › Lap Desks & Stands",
       "Laptop Stand|Laptop Riser|Notebook Stand", "Foldable|Portable|Ergonomic|Desktop", "for Desk",
       "height adjustable|aluminum alloy|heat dissipation|non slip pads|foldable design",
       [("color", "silver|space grey|black")],
       (12.0, 60.0), "Raises the screen to eye level|Fits 10 to 17 inch laptops|Folds flat for travel",
       "A better working angle at the desk or on the go"),
)

#: words that generated brand names are built from (two or three joined, e.g. "Lumora", "Velkin")
BRAND_SYLLABLES = (
    "al", "bo", "ca", "da", "el", "fi", "ga", "ho", "ji", "ka", "lu", "mo", "na", "or", "pi", "qu", "ro",
    "sa", "ti", "ul", "vo", "wi", "xa", "yo", "ze", "bri", "cor", "dex", "fen", "gro", "hal", "kin", "lum",
    "mir", "nov", "pex", "ren", "sol", "tor", "vel", "zen", "ara", "ion", "ova", "una",
)

#: sentences a product's description or bullet points use for an attribute it has ("{a}" is the attribute)
ATTRIBUTE_SENTENCES = (
    "{A}.",
    "Key feature: {a}.",
    "Highlights: {a}, just as described.",
)

#: review texts by star rating; "{head}" is the product's noun in lowercase
REVIEWS: dict[int, tuple[tuple[str, str], ...]] = {
    5: (("Love it", "Exactly what I wanted. This {head} is great and arrived quickly."),
        ("Five stars", "Second time buying this {head}. Would buy again."),
        ("Perfect", "Great quality for the price. Highly recommend this {head}.")),
    4: (("Pretty good", "Good {head} overall, just wish it came in more options."),
        ("Solid", "Does the job well. Packaging could be better.")),
    3: (("Okay", "The {head} is fine but nothing special."),
        ("Average", "It works, but I expected a little more for the price.")),
    2: (("Not great", "The {head} looked different from the pictures."),),
    1: (("Disappointed", "Returned it. The {head} did not work for me."),),
}
