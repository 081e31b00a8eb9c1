"""Realistic synthetic inbound mail for load tests and benchmarks (`lead-pipeline generate`).

:func:`generate_messages` streams ``(relative file name, raw RFC 5322 bytes)`` pairs: one message
in memory at a time (plus the few duplicate copies waiting to be delivered), deterministic for a
seed, and fast (messages are assembled from byte templates with randomised fields; attachments
are encoded once and reused). File names are ``YYYY-MM-DD/<n>.eml``, the UTC day of arrival.

The messages follow the conventions of the bundled sample inbox: the first header is
``Delivered-To: <alias>@yourcompany.example``, then a ``Received:`` header whose date is the
arrival time, ``Return-Path``, ``Authentication-Results`` (SPF, DKIM, DMARC), then the sender's
own headers in the style of their mail client (Gmail, Outlook, Apple Mail, Thunderbird, webmail).

What arrives, as shares of all generated messages (roughly; chance decides each message):

=============================  ======  ======================================================
kind                           share   what it looks like
=============================  ======  ======================================================
demo / pricing request          35 %   English, German, French, Spanish, Italian, Japanese;
                                       some state a budget, a timeline, a team size or seats;
                                       a few attach an RFP (PDF)
partner outreach                 5 %   resellers, agencies, integration partners
job application                  5 %   to jobs@ / careers@, with a small PDF or DOCX resume
support request                  7 %   errors, log-in problems; some attach a screenshot (PNG)
web-form notification            8 %   from no-reply@forms.yourcompany.example, Reply-To the
                                       visitor, ``Name:/Email:/Company:/Phone:`` lines (some
                                       as an HTML table)
reply with quoted history       10 %   "Re:" to one of our reps, Gmail or Outlook quoting
forward                          3 %   a colleague forwards an inquiry, inline or attached
                                       (message/rfc822)
out-of-office                    2 %   ``Auto-Submitted: auto-replied``
newsletter / vendor pitch        5 %   List-Unsubscribe, tracking pixels, recruiter agencies
spam                            10 %   URL shorteners, IP-literal links, spoofed display
                                       names, failing SPF/DKIM/DMARC, spam lexicon
vague ("tell me more")          10 %   short, often from free mail
=============================  ======  ======================================================

Across those kinds:

* duplicates: ~3 % of messages are redeliveries (the same bytes, a different ``Received``
  header minutes later) and ~2 % reply-all copies (the same Message-ID delivered to a second
  alias); copies keep their original's kind, so the shares above hold for all messages;
* repeat senders: ~5 % of messages come from a person who wrote before (a new message later);
* free-mail senders: ~15 % (gmail.com, outlook.com, gmx.de, yahoo.co.jp, ...);
* companies: ~2,800 names on ``.example`` domains, some on ccTLD suffixes (``.co.uk``,
  ``.com.au``, ``.de``, ``.fr``, ``.co.jp``, ...), plus the accounts of the example
  firmographics table; phone numbers in the fictional ranges of each country;
* charsets: mostly UTF-8 (~85 %: 7bit, quoted-printable, base64, 8bit), plus Windows-1252
  (~6 %), ISO-8859-1 (~5 %), us-ascii (~3 %) and ISO-2022-JP (~1 %, Japanese mail); non-ASCII
  subjects and display names as RFC 2047 encoded words; ~8 % of messages with CRLF line ends;
* structure: ~55 % text/plain, ~30 % multipart/alternative, ~5 % HTML-only (tracking pixels in
  some), ~10 % multipart/mixed;
* attachments: ~10 % of messages (resumes, RFPs, screenshots, decks, forwarded messages, fake
  invoices); each attachment's bytes are generated once, so they repeat across messages;
* arrival: spread over ``days`` days from ``start``, weekdays and business hours heavy, in
  order of day (times within a day are random).
"""

from __future__ import annotations

import base64
import binascii
import html as html_lib
import io
import os
import re
import struct
import unicodedata
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from random import Random

__all__ = ["CATEGORY_SHARES", "DEFAULT_START", "FORMATS", "generate_messages", "write_corpus"]

DEFAULT_START = date(2026, 1, 1)
OUR_DOMAIN = "yourcompany.example"

CATEGORY_SHARES: tuple[tuple[str, float], ...] = (
    ("demo_pricing", 0.35),
    ("partner", 0.05),
    ("job_application", 0.05),
    ("support", 0.07),
    ("web_form", 0.08),
    ("reply", 0.10),
    ("forward", 0.03),
    ("out_of_office", 0.02),
    ("newsletter", 0.05),
    ("spam", 0.10),
    ("vague", 0.10),
)
REDELIVERY_SHARE = 0.03
REPLY_ALL_SHARE = 0.02
REPEAT_SENDER_SHARE = 0.05
_COPY_SHARE = REDELIVERY_SHARE + REPLY_ALL_SHARE
# Kinds written by a person to more than one of our aliases (reply-all copies come from these).
_REPLY_ALL_KINDS = ("demo_pricing", "partner", "vague")
# Kinds whose sender may be someone who wrote before.
_REPEAT_KINDS = ("demo_pricing", "partner", "support", "web_form", "vague")

_CATEGORY_NAMES = tuple(name for name, _ in CATEGORY_SHARES)
_CATEGORY_CUM = tuple(accumulate(share for _, share in CATEGORY_SHARES))


def _share_of(kinds: tuple[str, ...]) -> float:
    return sum(share for name, share in CATEGORY_SHARES if name in kinds)


# A new message is generated for (1 - copy share) of the slots. Of those, a reply-all kind is
# copied to a second alias with _P_REPLY_ALL, any other is redelivered with _P_REDELIVERY: the
# copies then make up the documented shares of all messages.
_P_REPLY_ALL = REPLY_ALL_SHARE / ((1 - _COPY_SHARE) * _share_of(_REPLY_ALL_KINDS))
_P_REDELIVERY = REDELIVERY_SHARE / (1 - _COPY_SHARE - REPLY_ALL_SHARE)
_P_REPEAT = REPEAT_SENDER_SHARE / _share_of(_REPEAT_KINDS)

# --------------------------------------------------------------------------------------------
# Pools
# --------------------------------------------------------------------------------------------

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")
_DAY_WEIGHTS = (1.0, 1.05, 1.05, 1.0, 0.9, 0.3, 0.25)  # Monday .. Sunday
_HOUR_CUM = tuple(accumulate((0.25, 0.2, 0.2, 0.2, 0.25, 0.35, 0.6, 1.0, 1.6, 2.2, 2.4, 2.4, 2.3, 2.4, 2.5, 2.5,
                              2.3, 2.0, 1.5, 1.1, 0.8, 0.6, 0.45, 0.35)))

_NAMES = {
    "en": (
        ("James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Sarah", "Daniel", "Emily",
         "Chris", "Jessica", "Matthew", "Ashley", "Andrew", "Laura", "Kevin", "Megan", "Brian", "Rachel", "Jason",
         "Olivia", "Ryan", "Hannah", "Nathan", "Grace", "Tyler", "Chloe", "Ethan", "Priya", "Arjun", "Wei", "Mei",
         "Kwame", "Amara", "Omar", "Fatima", "Diego", "Sofia", "Noah", "Liam", "Ava", "Mia", "Lucas", "Zoe",
         "Isaac", "Leah", "Aaron", "Nina", "Dana", "Marcus", "Helen", "Ingrid", "Tom", "Eleanor", "Rosa", "Ayesha"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
         "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young",
         "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts",
         "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy",
         "Cook", "Rogers", "Patel", "Nguyen", "Kim", "Chen", "Singh", "O'Brien", "Okafor", "Mensah", "Garcia",
         "Rivera", "Shah", "Kowalski", "Novak", "Larsen", "Whitfield", "Natarajan", "Halvorsen", "McDonald"),
    ),
    "de": (
        ("Jürgen", "Katrin", "Stefan", "Anja", "Thomas", "Sabine", "Matthias", "Julia", "Andreas", "Claudia", "Lukas",
         "Lena", "Jörg", "Birgit", "Tobias", "Miriam", "Felix", "Anna", "Maximilian", "Sophie"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
         "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Braun", "Krüger", "Hartmann", "Brenner"),
    ),
    "fr": (
        ("Élodie", "Camille", "Julien", "Antoine", "Céline", "Mathieu", "Sophie", "Nicolas", "Aurélie", "Guillaume",
         "Hélène", "François", "Léa", "Hugo", "Chloé", "Louis"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
         "Lefèvre", "Girard", "Fournier", "Rousseau", "Marchand", "Bonnet"),
    ),
    "es": (
        ("José", "María", "Lucía", "Javier", "Carmen", "Alejandro", "Sofía", "Pablo", "Marta", "Andrés", "Elena",
         "Diego", "Isabel", "Raúl"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz", "Ruiz", "Hernández",
         "Jiménez", "Álvarez", "Moreno", "Navarro"),
    ),
    "it": (
        ("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo", "Elisa", "Davide"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco"),
    ),
    # (romaji, kanji)
    "ja": (
        (("Kenji", "健二"), ("Yuki", "由紀"), ("Hiroshi", "博"), ("Akiko", "明子"), ("Takashi", "隆"), ("Naoko", "直子"),
         ("Daisuke", "大輔"), ("Emi", "恵美"), ("Shota", "翔太"), ("Haruka", "遥")),
        (("Tanaka", "田中"), ("Suzuki", "鈴木"), ("Sato", "佐藤"), ("Takahashi", "高橋"), ("Watanabe", "渡辺"),
         ("Ito", "伊藤"), ("Yamamoto", "山本"), ("Nakamura", "中村"), ("Kobayashi", "小林"), ("Kato", "加藤")),
    ),
}

# country: (weight, languages with weights, ccTLD or None, ccTLD share, legal forms, cities,
#           phone templates ({d} = one random digit), tz offsets, currency style)
_COUNTRIES = {
    "US": (50, (("en", 1.0),), None, 0.0, ("Inc.", "LLC", "Inc", "", ""),
           ("San Francisco", "Austin", "Chicago", "New York", "Seattle", "Denver", "Boston", "Atlanta"),
           ("+1 (415) 555-01{d}{d}", "(312) 555-01{d}{d}", "+1 206-555-01{d}{d}", "+1 (650) 555-01{d}{d}",
            "646.555.01{d}{d}"), ("-0500", "-0600", "-0700", "-0800", "-0400"), "USD"),
    "UK": (12, (("en", 1.0),), "co.uk", 0.5, ("Ltd", "Limited", "plc", "Ltd."),
           ("London", "Manchester", "Leeds", "Bristol", "Edinburgh"),
           ("+44 20 7946 0{d}{d}{d}", "020 7946 0{d}{d}{d}", "+44 (0)20 7946 0{d}{d}{d}"), ("+0000", "+0100"), "GBP"),
    "DE": (9, (("de", 0.7), ("en", 0.3)), "de", 0.5, ("GmbH", "AG", "GmbH & Co. KG", "SE"),
           ("Berlin", "München", "Hamburg", "Köln", "Frankfurt"),
           ("+49 30 9018 2{d}{d}{d}", "030 9018 2{d}{d}{d}", "+49 89 2180 3{d}{d}{d}"), ("+0100", "+0200"), "EUR_DE"),
    "FR": (6, (("fr", 0.75), ("en", 0.25)), "fr", 0.5, ("SAS", "SARL", "SA"),
           ("Paris", "Lyon", "Marseille", "Toulouse"),
           ("+33 1 42 68 {d}{d} {d}{d}", "01 42 68 {d}{d} {d}{d}", "+33 4 72 10 {d}{d} {d}{d}"), ("+0100", "+0200"),
           "EUR_FR"),
    "ES": (4, (("es", 0.7), ("en", 0.3)), "es", 0.4, ("S.L.", "S.A."), ("Madrid", "Barcelona", "Valencia"),
           ("+34 912 34{d} {d}{d}{d}", "+34 93 123 4{d} {d}{d}"), ("+0100", "+0200"), "EUR_DE"),
    "AU": (5, (("en", 1.0),), "com.au", 0.5, ("Pty Ltd", "Pty. Ltd."), ("Sydney", "Melbourne", "Brisbane"),
           ("+61 2 5550 {d}{d}{d}{d}", "(02) 5550 {d}{d}{d}{d}", "+61 491 570 {d}{d}{d}"), ("+1000", "+1100"), "AUD"),
    "JP": (4, (("ja", 0.8), ("en", 0.2)), "co.jp", 0.5, ("株式会社",), ("東京", "大阪", "Tokyo"),
           ("+81 3-6123-{d}{d}{d}{d}", "03-6123-{d}{d}{d}{d}"), ("+0900",), "JPY"),
    "IT": (3, (("it", 0.6), ("en", 0.4)), "it", 0.4, ("S.r.l.", "S.p.A."), ("Milano", "Roma", "Torino"),
           ("+39 02 1234 {d}{d}{d}{d}", "+39 06 8765 {d}{d}{d}{d}"), ("+0100", "+0200"), "EUR_DE"),
    "NL": (4, (("en", 1.0),), "nl", 0.4, ("B.V.", "N.V."), ("Amsterdam", "Rotterdam", "Utrecht"),
           ("+31 20 123 {d}{d}{d}{d}", "+31 10 456 {d}{d}{d}{d}"), ("+0100", "+0200"), "EUR_DE"),
    "CA": (3, (("en", 1.0),), "ca", 0.4, ("Inc.", "Ltd."), ("Toronto", "Vancouver", "Montréal"),
           ("+1 (416) 555-01{d}{d}", "+1 604-555-01{d}{d}"), ("-0500", "-0800"), "CAD"),
}
_COUNTRY_NAMES = tuple(_COUNTRIES)
_COUNTRY_CUM = tuple(accumulate(spec[0] for spec in _COUNTRIES.values()))

_FREE_MAIL = {
    "US": ("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com"),
    "UK": ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com"),
    "DE": ("gmx.de", "web.de", "gmail.com", "gmx.net"),
    "FR": ("orange.fr", "free.fr", "gmail.com", "laposte.net"),
    "ES": ("gmail.com", "hotmail.es", "yahoo.es"),
    "AU": ("gmail.com", "bigpond.com", "outlook.com"),
    "JP": ("yahoo.co.jp", "gmail.com"),
    "IT": ("libero.it", "gmail.com"),
    "NL": ("gmail.com", "ziggo.nl", "live.com"),
    "CA": ("gmail.com", "outlook.com", "yahoo.com"),
}

_COMPANY_WORDS = (
    "Acme", "Brightfield", "Bluepeak", "Cedar", "Silverline", "Harbor", "Ironwood", "Lumen", "Maple", "Nimbus",
    "Orbit", "Pinecrest", "Quill", "Redwood", "Summit", "Tidal", "Vertex", "Willow", "Zephyr", "Granite", "Horizon",
    "Kestrel", "Meridian", "Nova", "Oakridge", "Polar", "Riverstone", "Sapphire", "Trident", "Vantage", "Aurora",
    "Beacon", "Copper", "Driftwood", "Ember", "Falcon", "Highland", "Indigo", "Juniper", "Keystone", "Lighthouse",
    "Monarch", "Northstar", "Onyx", "Pioneer", "Rainier", "Sterling", "Timber", "Upland", "Westbrook", "Alder",
    "Birch", "Cobalt", "Evergreen", "Fjord", "Glacier", "Harvest", "Ivory", "Jade", "Kinetic", "Larch", "Mosaic",
    "Nexus", "Orchid", "Prism", "Quarry", "Sable", "Tulip", "Verdant", "Wren",
)
_SECTORS = (
    ("Robotics", "Industrial automation"), ("Logistics", "Logistics"), ("Analytics", "Software"),
    ("Health", "Healthcare"), ("Foods", "Food & beverage"), ("Energy", "Energy"), ("Software", "Software"),
    ("Systems", "Software"), ("Labs", "Biotech"), ("Dental", "Healthcare"), ("Insurance", "Insurance"),
    ("Capital", "Financial services"), ("Manufacturing", "Manufacturing"), ("Retail", "Retail"),
    ("Media", "Media"), ("Biotech", "Biotech"), ("Consulting", "Professional services"), ("Freight", "Logistics"),
    ("Solar", "Energy"), ("Networks", "Telecommunications"), ("Security", "Cybersecurity"),
    ("Realty", "Real estate"), ("Travel", "Travel"), ("Marine", "Shipping"), ("Textiles", "Manufacturing"),
    ("Pharma", "Pharmaceuticals"), ("Learning", "Education"), ("Legal", "Legal services"), ("Apparel", "Retail"),
    ("Motors", "Automotive"), ("Aerospace", "Aerospace"), ("Telecom", "Telecommunications"),
    ("Hospitality", "Hospitality"), ("Agritech", "Agriculture"), ("Fintech", "Financial services"),
    ("Payments", "Financial services"), ("Studios", "Media"), ("Partners", "Professional services"),
    ("Group", "Conglomerate"), ("Works", "Construction"),
)
# The example firmographics accounts (lead_pipeline/data/firmographics.csv): a few of the senders.
_KNOWN_ACCOUNTS = (
    ("Acme Robotics", "acme-robotics.example", "US"), ("Brightfield", "brightfield.co.uk", "UK"),
    ("Northwind Traders", "northwind-traders.example", "US"), ("Gulfstream Logistics", "gulfstream-logistics.example", "US"),
    ("Stellar Insurance", "stellar-insurance.example", "US"), ("Vertex Health", "vertex-health.example", "US"),
    ("Helio Analytics", "helio-analytics.example", "US"), ("Nordvind Energi", "nordvind-energi.example", "UK"),
    ("Quantum Freight", "quantum-freight.example", "US"), ("Tinyloop", "tinyloop.example", "US"),
    ("Crestline Software", "crestline-software.example", "US"), ("KiranaTech", "kiranatech.example", "US"),
)
_KNOWN_ACCOUNT_SHARE = 0.03

_TITLES = {
    "en": ("Head of Sales", "VP Sales", "Director, Revenue Operations", "Sales Operations Manager", "CTO",
           "Founder & CEO", "Head of Growth", "Marketing Manager", "Procurement Manager", "IT Director", "COO",
           "Business Development Manager", "Customer Success Lead", "Operations Manager", "Chief Revenue Officer",
           "Head of Customer Experience", "Sales Enablement Lead", "Director of Sales Development"),
    "de": ("Vertriebsleiter", "Leiterin Vertrieb", "Geschäftsführer", "Head of Sales", "Teamleiterin Innendienst"),
    "fr": ("Responsable commerciale", "Directeur commercial", "Directrice des ventes", "Directeur général"),
    "es": ("Director comercial", "Gerente de ventas", "Jefa de operaciones", "Directora de marketing"),
    "it": ("Direttore commerciale", "Responsabile vendite", "Direttrice marketing"),
    "ja": ("営業部長", "営業マネージャー", "代表取締役社長", "営業企画部 課長"),
}

_REPS = (
    ("Sam", "Rivera"), ("Mark", "Ellis"), ("Olivia", "Grant"), ("James", "Whitmore"), ("Priya", "Shah"),
    ("Tom", "Becker"), ("Laura", "Chen"), ("Daniel", "Okoro"), ("Hannah", "Lindqvist"), ("Lucas", "Moreau"),
)
_REP_TITLES = ("Account Executive", "Senior Account Executive", "Sales Development Representative",
               "Solutions Engineer", "Partner Manager")

# Aliases: who writes to which (the web form and reply aliases are chosen per kind).
_SALES_ALIASES = ("sales", "sales", "sales", "demo", "demo", "info", "hello", "contact")

# --------------------------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------------------------

_T = {
    "en": {
        "greet": ("Hi there,", "Hello,", "Hi team,", "Hello sales team,", "Good morning,", "Hi,", "Dear Sales Team,",
                  "Hi folks,", "Good afternoon,"),
        "intro": ("I'm the {title} at {company}.", "I lead sales operations at {company}, based in {city}.",
                  "{company} is a {industry} business with about {employees} employees.",
                  "We met at {event} last week and I promised to follow up.",
                  "I came across your product while researching inbound lead tools.",
                  "A colleague at another company recommended your platform.",
                  "I work on the revenue team at {company}."),
        "demo": ("We'd like to see a demo of your lead pipeline product.",
                 "Could we book a 30-minute demo for our team?",
                 "Would it be possible to schedule a product walkthrough?",
                 "I'd love to get a demo and understand how routing works.",
                 "Can you show us a quick demo of the scoring and dedup features?",
                 "We're evaluating a few vendors and would like a demo of yours."),
        "pricing": ("Could you send us pricing for the Enterprise plan?",
                    "What would a quote look like for our team?",
                    "I'm trying to understand your pricing: is it per seat or per inbox?",
                    "Could you share a price list and your standard contract terms?",
                    "We need a quotation for an annual licence.",
                    "How much would the Growth plan cost us with SSO?"),
        "team": ("We have a sales team of {n}.", "We'd need about {n} seats.",
                 "It would be for {n} users across two regions.",
                 "Our {n}-person sales team handles all inbound email.", "We're around {n} reps in total.",
                 "We would start with {n} licenses."),
        "budget": ("Our budget for this is around {money}.", "We have roughly {money} budgeted for tooling this year.",
                   "Budget-wise we're looking at {money} per year.", "We've set aside {money} for the first year.",
                   "Our budget is in the range of {money_lo} to {money}."),
        "timeline": ("We'd like to have something live {when}.", "We're hoping to decide {when}.",
                     "Ideally we'd roll this out {when}.", "This is urgent for us, we need it ASAP."),
        "when": ("this quarter", "next quarter", "by the end of the quarter", "this month", "by {month}",
                 "in {month} {year}", "in Q{q} {year}"),
        "filler": ("Right now everything lands in a shared inbox and gets triaged by hand.",
                   "Our main concern is deduplication across the web form and the sales alias.",
                   "We use Salesforce today and need the integration to work from day one.",
                   "Please include the data-processing agreement, our legal team will ask for it.",
                   "A sandbox account for our engineers would help a lot.",
                   "We get a few hundred inbound emails a week and too many slip through.",
                   "Tuesday or Wednesday afternoon works best for us.",
                   "Happy to jump on a call whenever suits you.",
                   "We care a lot about GDPR and where the data is hosted.",
                   "We tried building this in-house last year and gave up."),
        "close": ("Thanks,", "Best regards,", "Kind regards,", "Cheers,", "Thank you,", "Many thanks,", "Best,"),
        "subject_demo": ("Demo request - {company}", "Demo request: {company} sales team", "Request a demo",
                         "Product demo for {company}?", "Looking for a demo", "Demo of your platform",
                         "Walkthrough for our team"),
        "subject_pricing": ("Pricing question", "Pricing for {n} seats", "Quote request - {company}",
                            "Enterprise pricing", "How much for {n} users?", "Pricing and licensing",
                            "Request for quotation"),
    },
    "de": {
        "greet": ("Hallo,", "Sehr geehrte Damen und Herren,", "Guten Tag,", "Hallo zusammen,"),
        "intro": ("ich bin {title} bei {company} in {city}.",
                  "wir sind ein Unternehmen aus {city} mit rund {employees} Mitarbeitern.",
                  "ich arbeite im Vertrieb bei {company}."),
        "demo": ("Wir würden gerne eine Demo Ihrer Lösung sehen.",
                 "Könnten wir einen Termin für eine Produktvorführung vereinbaren?"),
        "pricing": ("Könnten Sie uns ein Angebot schicken?", "Wie sehen Ihre Preise für das Enterprise-Paket aus?",
                    "Bitte senden Sie uns Ihre aktuelle Preisliste."),
        "team": ("Unser Vertrieb besteht aus {n} Mitarbeitern.", "Wir bräuchten etwa {n} Lizenzen.",
                 "Es geht um {n} Nutzer."),
        "budget": ("Unser Budget liegt bei etwa {money}.", "Wir haben rund {money} pro Jahr eingeplant."),
        "timeline": ("Wir möchten im nächsten Quartal starten.", "Die Einführung ist bis Ende {month} geplant.",
                     "Es ist dringend."),
        "filler": ("Derzeit bearbeiten wir alle Anfragen manuell in einem gemeinsamen Postfach.",
                   "Datenschutz und ein Hosting in der EU sind für uns sehr wichtig.",
                   "Wir nutzen aktuell HubSpot als CRM."),
        "close": ("Viele Grüße", "Mit freundlichen Grüßen", "Beste Grüße"),
        "subject_demo": ("Anfrage Demo – {company}", "Produktvorführung gewünscht", "Demo-Termin für {company}"),
        "subject_pricing": ("Preisanfrage für {n} Nutzer", "Angebot Lead-Management", "Anfrage Preise und Lizenzen"),
    },
    "fr": {
        "greet": ("Bonjour,", "Madame, Monsieur,", "Bonjour à toute l'équipe,"),
        "intro": ("je suis {title} chez {company}, à {city}.",
                  "{company} est une entreprise de {employees} salariés basée à {city}."),
        "demo": ("Serait-il possible d'organiser une démonstration la semaine prochaine ?",
                 "Nous aimerions voir une démo de votre solution."),
        "pricing": ("Pourriez-vous nous envoyer un devis ?", "Quels sont vos tarifs pour l'offre Entreprise ?"),
        "team": ("Nous sommes une équipe de {n} commerciaux.", "Il nous faudrait environ {n} utilisateurs."),
        "budget": ("Notre budget est d'environ {money} par an.",),
        "timeline": ("Nous souhaitons déployer un outil d'ici la fin du trimestre.",
                     "Nous visons un lancement au prochain trimestre.", "C'est urgent pour nous."),
        "filler": ("Toutes nos demandes arrivent aujourd'hui par e-mail et sont triées à la main.",
                   "L'hébergement des données en Europe est indispensable pour nous."),
        "close": ("Cordialement,", "Bien à vous,", "Merci d'avance et très bonne journée,"),
        "subject_demo": ("Demande de démonstration", "Démo pour l'équipe commerciale de {company}"),
        "subject_pricing": ("Demande de devis - {company}", "Tarifs pour {n} utilisateurs"),
    },
    "es": {
        "greet": ("Hola,", "Buenos días,", "Estimado equipo,"),
        "intro": ("soy {title} en {company}, en {city}.", "{company} es una empresa con unos {employees} empleados."),
        "demo": ("¿Sería posible agendar una demostración la próxima semana?",
                 "Nos gustaría ver una demo de su plataforma."),
        "pricing": ("¿Podrían enviarnos sus precios?", "Necesitamos una cotización para el plan Enterprise."),
        "team": ("Somos un equipo de {n} vendedores.", "Serían unos {n} usuarios."),
        "budget": ("Nuestro presupuesto es de unos {money} al año.",),
        "timeline": ("Queremos implementarlo el próximo trimestre.", "Es urgente, lo necesitamos lo antes posible."),
        "filler": ("Ahora mismo gestionamos todas las consultas a mano desde un buzón compartido.",),
        "close": ("Saludos cordiales,", "Un saludo,", "Muchas gracias,"),
        "subject_demo": ("Solicitud de demostración", "Demo para {company}"),
        "subject_pricing": ("Consulta de precios", "Cotización para {n} usuarios"),
    },
    "it": {
        "greet": ("Buongiorno,", "Salve,", "Gentile team,"),
        "intro": ("sono {title} presso {company} a {city}.",),
        "demo": ("Sarebbe possibile organizzare una dimostrazione la prossima settimana?",
                 "Vorremmo vedere una demo della vostra piattaforma."),
        "pricing": ("Potreste inviarci un preventivo?", "Quali sono i prezzi del piano Enterprise?"),
        "team": ("Il nostro team commerciale è di {n} persone.", "Ci servirebbero circa {n} utenti."),
        "budget": ("Il nostro budget è di circa {money} all'anno.",),
        "timeline": ("Vorremmo partire nel prossimo trimestre.", "È urgente per noi."),
        "filler": ("Oggi gestiamo tutte le richieste a mano da una casella condivisa.",),
        "close": ("Cordiali saluti,", "Grazie mille,"),
        "subject_demo": ("Richiesta demo - {company}",),
        "subject_pricing": ("Richiesta preventivo per {n} utenti", "Prezzi piano Enterprise"),
    },
    "ja": {
        "greet": ("ご担当者様", "お世話になっております。"),
        "intro": ("{company}の{family}と申します。", "{company}で営業を担当しております{family}です。"),
        "demo": ("貴社サービスのデモをお願いできますでしょうか。", "製品デモの日程をご相談させてください。"),
        "pricing": ("エンタープライズプランの料金を教えていただけますでしょうか。", "お見積もりをお願いいたします。"),
        "team": ("営業担当は約{n}名です。", "{n}ライセンス分を検討しております。"),
        "budget": ("年間予算はおよそ{money}を想定しております。",),
        "timeline": ("来期からの導入を検討しております。", "至急ご連絡いただけますと幸いです。"),
        "filler": ("現在は共有メールボックスで手作業で対応しております。",),
        "close": ("何卒よろしくお願いいたします。", "よろしくお願いいたします。"),
        "subject_demo": ("デモのご依頼", "製品デモについて"),
        "subject_pricing": ("料金についてのお問い合わせ", "お見積もりのお願い"),
    },
}
_EVENTS = ("SaaStr", "the RevOps meetup", "Web Summit", "your webinar", "Dreamforce", "a partner event")

_PARTNER = {
    "subject": ("Partnership opportunity", "Reseller inquiry - {country}", "Integration partnership with {company}",
                "Becoming a channel partner", "Referral partnership?"),
    "body": ("We're a {industry} consultancy in {city} and would like to become a reseller of your product in our "
             "region.", "We build CRM integrations and think a partnership could help both our customers.",
             "Several of our clients have asked about your product; do you have a partner program?",
             "We'd like to discuss a co-marketing or referral partnership."),
}
_JOBS = ("Account Executive", "Sales Development Representative", "Solutions Engineer", "Backend Engineer",
         "Customer Success Manager", "Product Designer", "Data Engineer", "Marketing Manager")
_SUPPORT = (
    ("Export to CSV failing with error 500", "Since this morning every export fails with an error 500."),
    ("Can't log in to the dashboard", "I can't log in since the update yesterday, the page just reloads."),
    ("API returns 401 since this morning", "Our integration gets 401 Unauthorized on every call, the key is valid."),
    ("Issue with SSO login", "There is an issue with SSO: users from our Okta tenant get an error after login."),
    ("Webhook deliveries stopped working", "Webhook deliveries stopped working on Friday, nothing arrives."),
    ("Duplicate leads after import", "After the import we see duplicate leads and the merge button is broken."),
    ("Bug: scores not updating", "There seems to be a bug: scores are not updating after we edited the rules."),
)
_VAGUE = (
    ("Tell me more", "Hi, can you tell me more about what your product does?"),
    ("Question", "Do you offer a free trial?"),
    ("Info", "Hello, I saw your ad on LinkedIn. What exactly do you do?"),
    ("Quick question", "Is there an API? And do you work with small businesses?"),
    ("", "Hi, is this available in Canada?"),
    ("Hello", "Interested. Please send more information."),
    ("Your product", "Hi, a friend mentioned your tool. How does it work?"),
)
_NEWSLETTERS = (
    ("DataLoop", "The DataLoop Digest #{n}: 5 ways to enrich inbound leads", "newsletter"),
    ("GrowthWire", "GrowthWire Weekly: the state of B2B inbound", "newsletter"),
    ("PeakHire Talent", "Pre-vetted engineers available to interview this week", "recruiter"),
    ("Leadflow Agency", "50 qualified meetings a month for {company_ours}", "agency"),
    ("CloudCost", "Your monthly product update from CloudCost", "newsletter"),
)
_SPAM = (
    ("Your website ranking on Google - 1st page guaranteed!!",
     "I was checking your website and noticed it is NOT ranking on the first page of Google. We offer "
     "guaranteed ranking and 500 high authority backlinks. Click here: {link}"),
    ("You have won a $500 gift card", "Congratulations, you have won! Claim your reward now: {link}"),
    ("Verify your account within 24 hours",
     "Your account will be suspended unless you verify your account today: {link}"),
    ("Invest in crypto: double your money", "Our bitcoin fund offers guaranteed returns. Act now: {link}"),
    ("Re: Outstanding invoice - payment confirmation required",
     "Please confirm the wire transfer details for the attached invoice within 24 hours: {link}"),
    ("Limited time offer: 100% free SEO audit", "Limited time offer! Get a 100% free audit today: {link}"),
    ("Your mailbox storage is full", "Your mailbox is full. Click here to keep receiving email: {link}"),
)
_SPAM_DOMAINS = ("bulk-mailer", "promo-blast", "cheap-hosting", "rank-boost-pro", "crypto-yield", "win-prize",
                 "secure-verify", "mail-notice", "fast-offers")
_SPOOFED = ("support@paypal.example", "ceo@bigbank.example", "security@microsoft.example",
            "billing@amazon.example", "noreply@dhl.example")
_SHORTENERS = ("bit.ly", "tinyurl.com", "t.co", "ow.ly", "is.gd", "cutt.ly", "rb.gy")
_OOO = (
    ("Automatic reply: {subject}", "Thank you for your email. I am out of the office until {date}, with limited "
                                   "access to email.\n\nFor urgent matters please contact my colleague {colleague} "
                                   "at {colleague_email}."),
    ("Out of Office: {subject}", "I'm currently on leave and will respond when I'm back on {date}."),
    ("Abwesenheitsnotiz: {subject}", "Vielen Dank für Ihre Nachricht. Ich bin bis zum {date} nicht im Büro."),
    ("Réponse automatique : {subject}", "Je suis absent jusqu'au {date}. Je vous répondrai dès mon retour."),
)
_REPLY_SUBJECTS = ("Quick intro + demo times", "Following up on your demo request", "Your pricing question",
                   "Proposal for {company}", "Next steps", "Trial account", "Contract and DPA")
_REP_MESSAGES = (
    "Great to meet you last week. As promised, here are a few times for a 30-minute demo:\n\n- Tuesday 11am\n"
    "- Wednesday 2pm\n- Thursday 10am\n\nLet me know what works and who else should join.",
    "Thanks for your interest! I've attached our pricing overview. Happy to walk you through it on a call.",
    "Just following up on the proposal I sent last week. Do you have any questions?",
    "Your trial account is ready. Let me know if you'd like a quick onboarding session.",
)
_PROSPECT_REPLIES = (
    "Thursday at 2pm works for us. I'll bring our VP of Operations and one of our team leads.",
    "Thanks for the proposal, we'll review it internally and come back to you by Friday.",
    "Could you also include SSO and the audit log in the quote?",
    "We discussed it internally and would like to move forward with a pilot for {n} users.",
    "Sorry for the slow reply. Can we push the call to next week?",
    "Thanks. Our legal team has a few comments on the DPA, see below.",
)

# --------------------------------------------------------------------------------------------
# Encoding helpers
# --------------------------------------------------------------------------------------------

_Q_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")
_Q_TABLE = tuple(chr(b) if b in _Q_SAFE else ("_" if b == 0x20 else f"={b:02X}") for b in range(256))


def _q_word(data: bytes) -> str:
    return "".join([_Q_TABLE[b] for b in data])


def _encoded_words(text: str, charset: str, encoding: str) -> str:
    """`text` as RFC 2047 encoded words of at most ~75 characters, folded onto continuation lines."""
    codec = _CODECS[charset]
    words = []
    limit = 42 if encoding == "B" else 22
    start = 0
    while start < len(text):
        chunk = text[start:start + limit]
        start += len(chunk)
        data = chunk.encode(codec)
        payload = base64.b64encode(data).decode("ascii") if encoding == "B" else _q_word(data)
        words.append(f"=?{charset}?{encoding}?{payload}?=")
    return "\n ".join(words)


_CODECS = {"UTF-8": "utf-8", "utf-8": "utf-8", "ISO-8859-1": "latin-1", "iso-8859-1": "latin-1",
           "windows-1252": "cp1252", "Windows-1252": "cp1252", "ISO-2022-JP": "iso2022_jp", "us-ascii": "ascii"}


def _header_text(text: str, charset: str, rng_value: float) -> str:
    """A subject as the sender's client writes it: raw ASCII, or encoded words."""
    if text.isascii() and rng_value > 0.05:
        return text
    if charset in ("us-ascii",) or (charset in ("ISO-8859-1", "windows-1252") and not _encodable(text, charset)):
        charset = "UTF-8"
    if charset == "ISO-2022-JP":
        return _encoded_words(text, charset, "B") if _encodable(text, charset) else _encoded_words(text, "UTF-8", "B")
    return _encoded_words(text, charset, "Q" if charset != "UTF-8" or rng_value < 0.5 else "B")


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(_CODECS[charset])
    except UnicodeEncodeError:
        return False
    return True


def _display(name: str, email: str, charset: str = "UTF-8") -> str:
    if not name:
        return f"<{email}>"
    if not name.isascii():
        cs = charset if charset != "us-ascii" and _encodable(name, charset) else "UTF-8"
        return f"{_encoded_words(name, cs, 'B' if cs in ('ISO-2022-JP',) else 'Q')} <{email}>"
    if any(ch in name for ch in ",.'@():;\"") :
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + f'" <{email}>'
    return f"{name} <{email}>"


def _ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=4096)
def _local_part(first: str, last: str, style: int) -> str:
    f = _ascii_fold(first).lower().replace(" ", "").replace("'", "")
    l_ = _ascii_fold(last).lower().replace(" ", "").replace("'", "")
    return (f"{f}.{l_}", f"{f[:1]}{l_}", f, f"{f}{l_}", f"{f}_{l_}", f"{l_}.{f}")[style]


def _wrap(text: str, width: int = 72) -> str:
    """Greedy hard wrap of each paragraph line (what many clients do to plain text)."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        current = ""
        for word in line.split(" "):
            if current and len(current) + 1 + len(word) > width:
                out.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        out.append(current)
    return "\n".join(out)


def _text_html(text: str, style: int, pixel: str | None = None) -> str:
    """An HTML rendering of plain text as Gmail (0), Outlook (1) or a generic client (2) writes it."""
    lines = html_lib.escape(text, quote=False).split("\n")
    if style == 0:
        body = "".join(f"<div>{line}</div>" if line else "<div><br></div>" for line in lines)
        out = f'<div dir="ltr">{body}</div>'
    elif style == 1:
        body = "".join(f'<p class="MsoNormal">{line or "&nbsp;"}<o:p></o:p></p>\n' for line in lines)
        out = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
               '<style><!-- p.MsoNormal {margin:0cm;font-size:11.0pt;font-family:"Calibri",sans-serif;} --></style>'
               f'</head><body lang="EN-US"><div class="WordSection1">\n{body}</div></body></html>')
    else:
        out = "<html><body>" + "<br>\n".join(lines) + "</body></html>"
    if pixel:
        out = out.replace("</body>", pixel + "</body>") if "</body>" in out else out + pixel
    return out


# --------------------------------------------------------------------------------------------
# Attachments: generated once, base64-encoded once
# --------------------------------------------------------------------------------------------


def _noise(n: int, seed: int) -> bytes:
    return Random(seed).randbytes(n)


def _pdf(title: str, pad: int, seed: int) -> bytes:
    text = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode("latin-1")
    padding = base64.b85encode(_noise(pad, seed))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(padding), padding),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _docx(paragraphs: tuple[str, ...], pad: int, seed: int) -> bytes:
    buffer = io.BytesIO()
    stamp = (2026, 1, 1, 0, 0, 0)

    def add(name: str, data: bytes, compress: int = zipfile.ZIP_DEFLATED) -> None:
        info = zipfile.ZipInfo(name, stamp)
        info.compress_type = compress
        archive.writestr(info, data)

    with zipfile.ZipFile(buffer, "w") as archive:
        add("[Content_Types].xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://'
            b'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="applicati'
            b'on/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml'
            b'"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            b'wordprocessingml.document.main+xml"/></Types>')
        add("_rels/.rels", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
            b'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.ope'
            b'nxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            b'</Relationships>')
        body = "".join(f"<w:p><w:r><w:t>{html_lib.escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
        add("word/document.xml", ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="'
                                  'http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                                  f"{body}</w:body></w:document>").encode())
        add("word/media/image1.png", _png(pad // 3 or 1, 1, seed), zipfile.ZIP_STORED)
    return buffer.getvalue()


def _png(width: int, height: int, seed: int) -> bytes:
    rows = _noise(width * 3 * height, seed)
    raw = b"".join(b"\x00" + rows[y * width * 3:(y + 1) * width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


@lru_cache(maxsize=1)
def _attachments() -> dict[str, tuple[tuple[str, bytes], ...]]:
    """Kind -> variants of (content type, base64 lines)."""

    def encoded(ctype: str, data: bytes) -> tuple[str, bytes]:
        return ctype, base64.encodebytes(data)

    pdf, docx = "application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    resume = ("Curriculum Vitae", "Experience: eight years in B2B sales.", "Education: BSc Economics.")
    return {
        "resume_pdf": tuple(encoded(pdf, _pdf("Curriculum Vitae", pad, 10 + pad)) for pad in (2_000, 9_000, 30_000)),
        "resume_docx": tuple(encoded(docx, _docx(resume, pad, 20 + pad)) for pad in (1_500, 6_000)),
        "rfp_pdf": tuple(encoded(pdf, _pdf("Request for Proposal", pad, 30 + pad)) for pad in (12_000, 40_000)),
        "deck_pdf": (encoded(pdf, _pdf("Partner overview", 25_000, 40)),),
        "invoice_pdf": (encoded(pdf, _pdf("INVOICE", 3_000, 50)),),
        "screenshot_png": tuple(encoded("image/png", _png(w, 40, 60 + w)) for w in (120, 240)),
    }


# --------------------------------------------------------------------------------------------
# People and companies
# --------------------------------------------------------------------------------------------


class _Company:
    __slots__ = ("name", "legal", "domain", "country", "lang", "industry", "city", "employees")

    def __init__(self, name, legal, domain, country, lang, industry, city, employees):
        self.name, self.legal, self.domain, self.country = name, legal, domain, country
        self.lang, self.industry, self.city, self.employees = lang, industry, city, employees


class _Person:
    __slots__ = ("first", "last", "display", "email", "domain", "company", "title", "phone", "lang", "country",
                 "free_mail", "family")

    def __init__(self, **fields):
        for key, value in fields.items():
            setattr(self, key, value)


@lru_cache(maxsize=1)
def _companies() -> tuple[_Company, ...]:
    rng = Random(2026)
    companies = []
    seen = set()
    for word in _COMPANY_WORDS:
        for sector, industry in _SECTORS:
            country = _COUNTRY_NAMES[bisect_right(_COUNTRY_CUM, rng.random() * _COUNTRY_CUM[-1])]
            spec = _COUNTRIES[country]
            lang = _weighted(rng, spec[1])
            slug = (f"{word}-{sector}" if rng.random() < 0.6 else f"{word}{sector}").lower()
            tld = spec[2] if spec[2] and rng.random() < spec[3] else "example"
            domain = f"{slug}.{tld}"
            if domain in seen:
                continue
            seen.add(domain)
            legal = rng.choice(spec[4])
            employees = int(10 ** rng.uniform(1, 4.3))
            companies.append(_Company(f"{word} {sector}", legal, domain, country, lang, industry,
                                      rng.choice(spec[5]), employees))
    return tuple(companies)


@lru_cache(maxsize=1)
def _known_accounts() -> tuple[_Company, ...]:
    return tuple(_Company(name, "Inc." if country == "US" else "Ltd", domain, country, "en", "Software",
                          _COUNTRIES[country][5][0], 500) for name, domain, country in _KNOWN_ACCOUNTS)


def _weighted(rng: Random, options: tuple[tuple[str, float], ...]) -> str:
    value = rng.random()
    for option, weight in options:
        value -= weight
        if value < 0:
            return option
    return options[-1][0]


def _fill_digits(template: str, rng: Random) -> str:
    pieces = template.split("{d}")
    out = [pieces[0]]
    for piece in pieces[1:]:
        out.append(str(int(rng.random() * 10)))
        out.append(piece)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    """"Tue, 06 Jan 2026 " for a day number since the epoch."""
    dt = _EPOCH + timedelta(days=day)
    return f"{_WEEKDAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year} "


@lru_cache(maxsize=4096)
def _day_iso(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")


@lru_cache(maxsize=64)
def _offset_seconds(offset: str) -> int:
    sign = -1 if offset[0] == "-" else 1
    return sign * (int(offset[1:3]) * 3600 + int(offset[3:5]) * 60)


def _rfc2822(seconds: int, offset: str = "+0000") -> str:
    """An RFC 5322 date-time of `seconds` since the epoch (UTC) in the zone `offset`."""
    day, rest = divmod(seconds + _offset_seconds(offset), 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day_prefix(day)}{hour:02d}:{minute:02d}:{second:02d} {offset}"


class _Copy:
    """A delivery waiting for its slot: a redelivery or a reply-all copy of an earlier message."""

    __slots__ = ("due", "alias", "arrival", "relay", "ip", "tail", "crlf")

    def __init__(self, due, alias, arrival, relay, ip, tail, crlf):
        self.due, self.alias, self.arrival, self.relay, self.ip, self.tail, self.crlf = (
            due, alias, arrival, relay, ip, tail, crlf)


class _Draft:
    """One message being built: envelope facts, the sender's header lines and the MIME body."""

    __slots__ = ("alias", "cc_alias", "relay", "ip", "mail_from", "auth", "headers", "content", "crlf",
                 "reply_all_ok")

    def __init__(self):
        self.cc_alias = None
        self.reply_all_ok = False
        self.crlf = False


class _Generator:
    def __init__(self, seed: int, start: date, days: int, count: int):
        self.rng = Random(seed)
        self.random = self.rng.random
        self.count = count
        self.start_seconds = int((datetime(start.year, start.month, start.day) - _EPOCH).total_seconds())
        days = max(1, days)
        weights = [_DAY_WEIGHTS[(start + timedelta(days=d)).weekday()] for d in range(days)]
        self.day_cum = list(accumulate(weights))
        self.day = 0
        self.companies = _companies()
        self.known = _known_accounts()
        self.attachments = _attachments()
        self.people: list[_Person] = []  # earlier senders, for repeat senders (bounded)
        self.pending: list[_Copy] = []
        self.width = max(6, len(str(count)))

    # -- small random helpers ----------------------------------------------------------------
    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.random() < p

    def hexid(self, n: int) -> str:
        return f"{self.rng.getrandbits(n * 4):0{n}X}"

    def token(self, n: int) -> str:
        return base64.b64encode(self.rng.getrandbits(n * 6).to_bytes((n * 6 + 7) // 8, "little"),
                                b"xZ").decode("ascii")[:n]

    def ip(self) -> str:
        return f"{self.pick(('192.0.2', '198.51.100', '203.0.113'))}.{1 + int(self.random() * 253)}"

    # -- time -------------------------------------------------------------------------------------
    def arrival_for(self, slot: int) -> int:
        target = (slot + 0.5) / self.count * self.day_cum[-1]
        while self.day < len(self.day_cum) - 1 and self.day_cum[self.day] < target:
            self.day += 1
        hour = bisect_right(_HOUR_CUM, self.random() * _HOUR_CUM[-1])
        return self.start_seconds + self.day * 86400 + min(hour, 23) * 3600 + int(self.random() * 3600)

    # -- people -----------------------------------------------------------------------------------
    def company(self) -> _Company:
        if self.chance(_KNOWN_ACCOUNT_SHARE):
            return self.pick(self.known)
        return self.pick(self.companies)

    def person(self, *, free_mail: float = 0.1, repeat: bool = False, country: str | None = None) -> _Person:
        if repeat and self.people and self.chance(_P_REPEAT):
            return self.pick(self.people)
        person = self.new_person(free_mail=free_mail, country=country)
        if len(self.people) < 5000:
            self.people.append(person)
        else:
            self.people[int(self.random() * 5000)] = person
        return person

    def new_person(self, *, free_mail: float = 0.1, country: str | None = None) -> _Person:
        company = None if country else self.company()  # with a country given: a private person
        is_free = company is None or self.chance(free_mail)
        country = country or company.country
        spec = _COUNTRIES[country]
        lang = company.lang if company else _weighted(self.rng, spec[1])
        firsts, lasts = _NAMES[lang]
        first, last = self.pick(firsts), self.pick(lasts)
        family = None
        if lang == "ja":
            (first, first_k), (last, last_k) = first, last
            display = self.pick((f"{last_k} {first_k}", f"{first} {last}", f"{last} {first}"))
            family = last_k
        else:
            # Some directories write "CHEN, ALEX".
            display = f"{last.upper()}, {first.upper()}" if self.chance(0.02) else f"{first} {last}"
        if is_free:
            domain = self.pick(_FREE_MAIL[country])
            local = _local_part(first, last, int(self.random() * 6))
            if self.chance(0.5):
                local += str(int(self.random() * 99))
        else:
            domain = company.domain
            local = _local_part(first, last, int(self.random() * 6))
        return _Person(
            first=first, last=last, display=display, email=f"{local}@{domain}", domain=domain,
            company=None if is_free else company,
            title=self.pick(_TITLES.get(lang, _TITLES["en"])), phone=_fill_digits(self.pick(spec[6]), self.rng),
            lang=lang, country=country, free_mail=is_free, family=family or last,
        )

    def money(self, country: str) -> tuple[str, str]:
        """(amount, lower amount of a range) as a buyer from `country` writes them."""
        amount = self.pick((5, 8, 10, 12, 15, 20, 25, 30, 35, 40, 50, 60, 75, 100, 120, 150, 250))
        style = _COUNTRIES[country][8]
        low = max(1, amount // 2)
        if style == "USD":
            forms = (f"${amount}k", f"${amount},000", f"USD {amount},000", f"${amount}K")
            low_s = f"${low}k"
        elif style == "GBP":
            forms = (f"£{amount}k", f"£{amount},000", f"GBP {amount},000")
            low_s = f"£{low},000"
        elif style == "EUR_DE":
            forms = (f"{amount}.000 EUR", f"€{amount}.000", f"EUR {amount}k", f"{amount}.000 €")
            low_s = f"{low}.000 EUR"
        elif style == "EUR_FR":
            forms = (f"{amount} 000 EUR", f"{amount} 000 €", f"{amount}k€")
            low_s = f"{low} 000 EUR"
        elif style == "AUD":
            forms = (f"A${amount},000", f"AUD {amount}k")
            low_s = f"A${low},000"
        elif style == "CAD":
            forms = (f"C${amount}k", f"CAD {amount},000")
            low_s = f"C${low}k"
        else:  # JPY
            forms = (f"{amount * 10}万円", f"¥{amount * 100_000:,}")
            low_s = f"{low * 10}万円"
        return self.pick(forms), low_s

    def when(self, arrival: int) -> str:
        year = (_EPOCH + timedelta(seconds=arrival)).year
        month = _MONTH_NAMES[int(self.random() * 12)]
        return self.pick(_T["en"]["when"]).format(month=month, year=year + (1 if self.chance(0.3) else 0),
                                                  q=1 + int(self.random() * 4))

    def signature(self, person: _Person, *, title: bool = True, phone: float = 0.8) -> list[str]:
        company = person.company
        lines = ["--"] if self.chance(0.5) else []
        lines.append(person.display if person.lang == "ja" or "," not in person.display else f"{person.first} {person.last}")
        if title:
            if company and self.chance(0.4):
                lines.append(f"{person.title} | {company.name}")
            else:
                lines.append(person.title)
        if company:
            if not (title and len(lines) > 1 and "|" in lines[-1]):
                legal = company.legal
                name = f"{legal}{company.name}" if legal == "株式会社" else (
                    f"{company.name} {legal}".strip() if self.chance(0.6) else company.name)
                lines.append(name)
        if self.chance(phone):
            lines.append(self.pick(("", "Tel: ", "T: ", "Phone: ", "Direct: ")) + person.phone)
        if company and self.chance(0.5):
            lines.append(f"https://www.{company.domain}" if self.chance(0.5) else f"www.{company.domain}")
        return lines

    # -- kinds ------------------------------------------------------------------------------------
    def demo_pricing(self, d: _Draft, arrival: int) -> tuple[_Person, str, str]:
        person = self.person(free_mail=0.12, repeat=True)
        lang = person.lang
        t = _T[lang]
        company = person.company
        company_name = company.name if company else f"{person.last} & Co"
        ask = "demo" if self.chance(0.55) else "pricing"
        n = self.pick((3, 5, 8, 10, 12, 15, 20, 25, 30, 40, 45, 50, 60, 80, 100, 150, 200, 350, 500))
        fields = {
            "title": person.title, "company": company_name, "city": company.city if company else "",
            "industry": (company.industry if company else "services").lower(),
            "employees": company.employees if company else 20, "event": self.pick(_EVENTS), "n": n,
            "family": person.family, "month": self.pick(_MONTH_NAMES),
        }
        subject = self.pick(t[f"subject_{ask}"]).format(**fields)
        lines = [self.pick(t["greet"]), ""]
        if lang == "ja":
            lines = [f"{self.pick(t['greet'])}", "", self.pick(t["intro"]).format(**fields)]
        elif self.chance(0.8):
            lines.append(self.pick(t["intro"]).format(**fields) + (
                " " + self.pick(t["filler"]) if self.chance(0.5) else ""))
            lines.append("")
        paragraph = [self.pick(t[ask])]
        if self.chance(0.45):
            paragraph.append(self.pick(t["team"]).format(**fields))
        if self.chance(0.3):
            money, low = self.money(person.country)
            paragraph.append(self.pick(t["budget"]).format(money=money, money_lo=low))
        if self.chance(0.3):
            paragraph.append(self.pick(t["timeline"]).format(when=self.when(arrival), month=fields["month"]))
        lines.append(" ".join(paragraph) if lang != "ja" else "".join(paragraph))
        if self.chance(0.5):
            lines += ["", self.pick(t["filler"])]
        lines += ["", self.pick(t["close"])]
        if self.chance(0.4):
            lines.append(person.first if lang != "ja" else person.family)
        lines += [""] + self.signature(person)
        return person, subject, "\n".join(lines)

    def partner(self, d: _Draft, arrival: int) -> tuple[_Person, str, str]:
        person = self.person(free_mail=0.05, repeat=True)
        company = person.company
        fields = {"company": company.name if company else person.last, "country": person.country,
                  "industry": (company.industry if company else "services").lower(),
                  "city": company.city if company else "London"}
        subject = self.pick(_PARTNER["subject"]).format(**fields)
        lines = [self.pick(_T["en"]["greet"]), "", self.pick(_PARTNER["body"]).format(**fields), "",
                 self.pick(_T["en"]["filler"]), "", self.pick(_T["en"]["close"]), ""] + self.signature(person)
        return person, subject, "\n".join(lines)

    def job_application(self, d: _Draft, arrival: int) -> tuple[_Person, str, str, list]:
        person = self.person(free_mail=0.8)
        job = self.pick(_JOBS)
        subject = self.pick((f"Application for {job} - {person.first} {person.last}", f"Job application: {job}",
                             f"{job} position", f"Application: {job} ({person.first} {person.last})"))
        lines = [self.pick(("Hello Hiring Team,", "Dear Hiring Manager,", "Hi,")), "",
                 f"Please find attached my resume for the {job} role posted on your careers page.",
                 self.pick(("I've spent the last four years in B2B SaaS and would love to bring that experience "
                            "to your team.", "I'm currently finishing my degree and am open to hybrid or remote "
                            "work.", "I'd welcome the chance to talk.")),
                 "", self.pick(_T["en"]["close"]), f"{person.first} {person.last}"]
        if self.chance(0.6):
            lines.append(person.phone)
        kind = "resume_pdf" if self.chance(0.6) else "resume_docx"
        ext = "pdf" if kind == "resume_pdf" else "docx"
        name = self.pick((f"{person.first}_{person.last}_Resume.{ext}", f"CV_{person.last}.{ext}",
                          f"{person.first} {person.last} CV.{ext}"))
        return person, subject, "\n".join(lines), [(kind, name)]

    def support(self, d: _Draft, arrival: int) -> tuple[_Person, str, str, list]:
        person = self.person(free_mail=0.05, repeat=True)
        subject, problem = self.pick(_SUPPORT)
        lines = [self.pick(("Hi support,", "Hello,", "Hi team,")), "", problem,
                 f"Our account ID is {self.hexid(8).lower()}.",
                 self.pick(("Can you please take a look?", "This is blocking our team, please help.",
                            "Is this a known issue?")), "", self.pick(_T["en"]["close"]), ""] + self.signature(
            person, phone=0.5)
        attachments = [("screenshot_png", self.pick(("screenshot.png", "Screenshot 2026-03-04 at 10.12.55.png",
                                                     "error.png")))] if self.chance(0.3) else []
        return person, subject, "\n".join(lines), attachments

    def vague(self, d: _Draft, arrival: int) -> tuple[_Person, str, str]:
        person = self.person(free_mail=0.6, repeat=True)
        subject, text = self.pick(_VAGUE)
        lines = [text, ""]
        if self.chance(0.5):
            lines += [self.pick(("Thanks", "Thanks,", "Regards,", "Sent from my iPhone")), person.first]
        return person, subject, "\n".join(lines)

    # -- assembling -------------------------------------------------------------------------------
    def client(self, person_domain: str, free_mail: bool) -> int:
        """0 Gmail, 1 Outlook, 2 Apple Mail, 3 Thunderbird, 4 webmail."""
        if free_mail:
            if person_domain in ("gmail.com", "googlemail.com"):
                return 0
            if person_domain in ("outlook.com", "hotmail.com", "live.com", "hotmail.co.uk", "hotmail.es"):
                return 1
            return self.pick((2, 4, 4))
        return self.pick((0, 0, 1, 1, 1, 2, 3, 4))

    def message_id(self, client: int, domain: str, arrival: int) -> str:
        if client == 0:
            return f"<CA{self.token(44)}@mail.gmail.com>"
        if client == 1:
            return (f"<{self.pick(('DM6PR', 'AM0PR', 'BY5PR', 'GV1P'))}{int(self.random() * 90) + 10}MB"
                    f"{int(self.random() * 9000) + 1000}{self.hexid(24)}@prod.outlook.com>")
        if client == 2:
            h = self.hexid(32)
            return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}>"
        if client == 3:
            h = self.hexid(32).lower()
            return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}>"
        dt = _EPOCH + timedelta(seconds=arrival)
        return f"<{dt:%Y%m%d%H%M%S}.{self.hexid(10)}@{domain}>"

    def charset_for(self, lang: str, client: int) -> tuple[str, str]:
        """(charset, transfer encoding) of a text body in `lang` from this client."""
        r = self.random()
        if lang == "ja":
            return ("ISO-2022-JP", "7bit") if r < 0.7 else ("UTF-8", "base64")
        if lang == "en":
            if client == 1 and r < 0.5:  # Outlook: a legacy charset more often than not
                if r < 0.2:
                    return "windows-1252", "quoted-printable"
                return ("iso-8859-1", "quoted-printable") if r < 0.35 else ("us-ascii", "7bit")
            if r < 0.55:
                return "UTF-8", "7bit"
            return ("UTF-8", "quoted-printable") if r < 0.88 else ("UTF-8", "base64")
        if r < 0.25:
            return "ISO-8859-1", "quoted-printable"
        if r < 0.45:
            return "windows-1252", "quoted-printable"
        if r < 0.75:
            return "UTF-8", "quoted-printable"
        return ("UTF-8", "base64") if r < 0.9 else ("UTF-8", "8bit")

    def text_part(self, text: str, charset: str, cte: str, subtype: str = "plain") -> bytes:
        codec = _CODECS[charset]
        try:
            data = text.encode(codec)
        except UnicodeEncodeError:
            charset, data = "UTF-8", text.encode("utf-8")
            cte = "quoted-printable" if cte in ("7bit", "quoted-printable") else cte
        if cte == "7bit" and not data.isascii():
            cte = "quoted-printable"
        if cte == "quoted-printable":
            payload = binascii.b2a_qp(data)
        elif cte == "base64":
            payload = base64.encodebytes(data)
        else:
            payload = data
        if not payload.endswith(b"\n"):
            payload += b"\n"
        flowed = "; format=flowed" if subtype == "plain" and self.chance(0.1) else ""
        quote = '"' if self.chance(0.5) else ""
        return (f"Content-Type: text/{subtype}; charset={quote}{charset}{quote}{flowed}\n"
                f"Content-Transfer-Encoding: {cte}\n\n").encode("ascii") + payload

    def boundary(self, client: int) -> str:
        if client == 0:
            return f"000000000000{self.hexid(16).lower()}"
        if client == 1:
            return f"_000_{self.hexid(32)}_"
        if client == 2:
            h = self.hexid(32)
            return f"Apple-Mail={h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return f"------------{self.token(24)}"

    def body(self, text: str, lang: str, client: int, *, html: str | None = None, html_only: bool = False,
             alternative: float = 0.4, attachments: list | tuple = (), extra_parts: list | None = None) -> bytes:
        """Content-Type headers + body of a message with this text (and HTML, attachments)."""
        charset, cte = self.charset_for(lang, client)
        if html_only:
            content = self.text_part(html, "UTF-8", "quoted-printable", "html")
        elif html is not None or self.chance(alternative if client in (0, 1) else alternative / 3):
            if html is None:
                html = _text_html(text, 0 if client == 0 else (1 if client == 1 else 2))
            boundary = self.boundary(client)
            b = boundary.encode("ascii")
            text_cs, text_cte = (charset, cte) if charset != "ISO-2022-JP" else ("UTF-8", "base64")
            content = (f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n').encode("ascii") + (
                b"--" + b + b"\n" + self.text_part(text, text_cs, text_cte) + b"\n--" + b + b"\n"
                + self.text_part(html, "UTF-8" if text_cs != "us-ascii" else "us-ascii",
                                 "quoted-printable", "html") + b"\n--" + b + b"--\n")
        else:
            if cte in ("7bit", "quoted-printable") and lang == "en" and self.chance(0.4):
                text = _wrap(text)
            content = self.text_part(text, charset, cte)
        if not attachments and not extra_parts:
            return content
        boundary = self.boundary(client)
        b = boundary.encode("ascii")
        parts = [content]
        for kind, filename in attachments:
            ctype, payload = self.pick(self.attachments[kind])
            if filename.isascii():
                disposition = f'attachment; filename="{filename}"'
                name = f'; name="{filename}"'
            else:
                encoded = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "".join(
                    f"%{byte:02X}" for byte in ch.encode()) for ch in filename)
                disposition = f"attachment; filename*=UTF-8''{encoded}"
                name = ""
            attachment_id = f"f_{self.token(9).lower()}"
            parts.append((f"Content-Type: {ctype}{name}\nContent-Disposition: {disposition}\n"
                          f"Content-Transfer-Encoding: base64\nX-Attachment-Id: {attachment_id}\n"
                          f"Content-ID: <{attachment_id}>\n\n").encode("ascii") + payload)
        parts += extra_parts or []
        return (f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n').encode("ascii") + b"".join(
            b"--" + b + b"\n" + part + b"\n" for part in parts) + b"--" + b + b"--\n"

    def auth(self, mail_from: str, domain: str, ip: str, *, spf: str = "pass", dkim: str = "pass",
             dmarc: str = "pass") -> str:
        selector = self.pick(("google", "selector1", "s1", "mail", "default", "20230601"))
        spf_reason = ("designates" if spf == "pass" else "does not designate")
        dkim_part = (f"dkim={dkim} header.d={domain} header.s={selector} header.b={self.token(8)}"
                     if dkim != "none" else "dkim=none (message not signed)")
        policy = self.pick(("p=NONE sp=NONE dis=NONE", "p=QUARANTINE sp=QUARANTINE dis=NONE",
                            "p=REJECT sp=REJECT dis=NONE"))
        return (f"Authentication-Results: mx.{OUR_DOMAIN};\n"
                f"\tspf={spf} (mx.{OUR_DOMAIN}: domain of {mail_from or domain} {spf_reason} {ip} as permitted "
                f"sender) smtp.mailfrom={mail_from or domain};\n"
                f"\t{dkim_part};\n"
                f"\tdmarc={dmarc} ({policy}) header.from={domain}\n")

    def relay(self, domain: str, client: int) -> tuple[str, str]:
        if client == 0:
            n = 10 + int(self.random() * 80)
            return f"mail-sor-f{n}.google.com", f"209.85.220.{n}"
        if client == 1:
            return (f"mail-{self.pick(('dm6', 'am0', 'by5', 'gv1'))}nam{int(self.random() * 12):02d}on2"
                    f"{int(self.random() * 900) + 100}.outbound.protection.outlook.com",
                    f"40.107.{int(self.random() * 250)}.{int(self.random() * 250)}")
        return f"{self.pick(('mail-out', 'smtp', 'mx01', 'mail', 'out'))}.{domain}", self.ip()

    def person_headers(self, d: _Draft, person: _Person, client: int, subject: str, arrival: int, charset_hint: str,
                       *, to: str, cc: str | None = None, extra: tuple[str, ...] = (),
                       in_reply_to: str | None = None) -> list[str]:
        domain = person.domain
        offset = self.pick(_COUNTRIES[person.country][7])
        sent = arrival - 2 - int(self.random() * 40)
        mid = self.message_id(client, domain, arrival)
        d.mail_from = person.email
        d.relay, d.ip = self.relay(domain, client)
        d.auth = self.auth(person.email, domain, d.ip)
        from_ = f"From: {_display(person.display, person.email, charset_hint)}"
        subj = f"Subject: {_header_text(subject, charset_hint, self.random())}"
        date_ = f"Date: {_rfc2822(sent, offset)}"
        to_ = f"To: {to}"
        lines = []
        if client == 0:
            lines.append("MIME-Version: 1.0")
            if in_reply_to:
                lines += [f"References: {in_reply_to}", f"In-Reply-To: {in_reply_to}"]
            lines += [from_, date_, f"Message-ID: {mid}", subj, to_]
            if cc:
                lines.append(f"Cc: {cc}")
        elif client == 1:
            lines += [from_, to_] + ([f"CC: {cc}"] if cc else []) + [subj, f"Thread-Topic: {subject}"
                      if subject.isascii() else f"Thread-Topic: {_header_text(subject, 'UTF-8', 0.0)}",
                      f"Thread-Index: {self.token(30)}==", date_, f"Message-ID: {mid}"]
            if in_reply_to:
                lines += [f"References: {in_reply_to}", f"In-Reply-To: {in_reply_to}"]
            lines += ["Accept-Language: en-US", "Content-Language: en-US", "X-MS-Has-Attach:",
                      "MIME-Version: 1.0"]
        else:
            lines += [from_, to_] + ([f"Cc: {cc}"] if cc else []) + [subj, date_, f"Message-ID: {mid}"]
            if in_reply_to:
                lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
            if client == 2:
                lines += ["Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3776.700.51\\))", "X-Mailer: Apple Mail (2.3776.700.51)"]
            elif client == 3:
                lines += ["User-Agent: Mozilla Thunderbird", f"Content-Language: {person.lang}", "MIME-Version: 1.0"]
            else:
                lines += ["MIME-Version: 1.0", "User-Agent: Roundcube Webmail/1.6.9"]
        lines += list(extra)
        return lines

    def inbound(self, kind: str, arrival: int) -> _Draft:
        d = _Draft()
        method = getattr(self, f"build_{kind}")
        method(d, arrival)
        return d

    # Each build_* fills d.alias, d.relay, d.ip, d.mail_from, d.auth, d.headers, d.content.
    def build_person_kind(self, d: _Draft, arrival: int, kind: str) -> None:
        built = getattr(self, kind)(d, arrival)
        person, subject, text = built[:3]
        attachments = built[3] if len(built) > 3 else []
        client = self.client(person.domain, person.free_mail)
        if kind == "job_application":
            d.alias = f"{self.pick(('jobs', 'jobs', 'careers'))}@{OUR_DOMAIN}"
        elif kind == "support":
            d.alias = f"{'support' if self.chance(0.7) else 'sales'}@{OUR_DOMAIN}"
        elif kind == "partner":
            d.alias = f"{'partners' if self.chance(0.6) else 'sales'}@{OUR_DOMAIN}"
        else:
            d.alias = f"{self.pick(_SALES_ALIASES)}@{OUR_DOMAIN}"
        to = d.alias
        cc = None
        if kind in _REPLY_ALL_KINDS and self.chance(_P_REPLY_ALL):
            other = self.pick([a for a in ("sales", "demo", "info", "hello") if f"{a}@{OUR_DOMAIN}" != d.alias])
            d.cc_alias = f"{other}@{OUR_DOMAIN}"
            cc = d.cc_alias
        if kind == "demo_pricing" and self.chance(0.04):
            attachments = [("rfp_pdf", f"RFP_{(person.company.name if person.company else person.last).replace(' ', '_')}.pdf")]
        if kind == "partner" and self.chance(0.1):
            attachments = [("deck_pdf", "Partner overview.pdf")]
        charset_hint, _ = ("ISO-2022-JP", None) if person.lang == "ja" else ("UTF-8", None)
        if person.lang in ("de", "fr", "es", "it") and self.chance(0.4):
            charset_hint = self.pick(("ISO-8859-1", "windows-1252"))
        d.headers = self.person_headers(d, person, client, subject, arrival, charset_hint, to=to, cc=cc)
        html_only = kind == "demo_pricing" and self.chance(0.08)
        if html_only:
            pixel = (f'<img src="https://track.{self.pick(("mailtrack", "hubspot-t", "yesware"))}.example/open?id='
                     f'{self.hexid(16).lower()}" width="1" height="1" style="display:none" alt="">')
            d.content = self.body(text, person.lang, client, html=_text_html(text, 2, pixel), html_only=True,
                                  attachments=attachments)
        else:
            d.content = self.body(text, person.lang, client, attachments=attachments)

    def build_demo_pricing(self, d, arrival):
        self.build_person_kind(d, arrival, "demo_pricing")

    def build_partner(self, d, arrival):
        self.build_person_kind(d, arrival, "partner")

    def build_job_application(self, d, arrival):
        self.build_person_kind(d, arrival, "job_application")

    def build_support(self, d, arrival):
        self.build_person_kind(d, arrival, "support")

    def build_vague(self, d, arrival):
        self.build_person_kind(d, arrival, "vague")

    def build_web_form(self, d: _Draft, arrival: int) -> None:
        person = self.person(free_mail=0.15, repeat=True)
        form = self.pick((("contact-sales", "Contact Sales"), ("request-demo", "Request a demo"),
                          ("pricing", "Get pricing")))
        d.alias = f"{'demo' if form[0] == 'request-demo' else 'sales'}@{OUR_DOMAIN}"
        d.mail_from = f"bounces+{form[0]}@forms.{OUR_DOMAIN}"
        d.relay, d.ip = f"forms-relay1.{OUR_DOMAIN}", "203.0.113.40"
        d.auth = self.auth(d.mail_from, f"forms.{OUR_DOMAIN}", d.ip)
        company = person.company.name if person.company else self.pick(self.companies).name
        message = self.pick((f"We'd like a demo for our team of {self.pick((5, 10, 20, 40, 80))}.",
                             "Please send pricing for the Growth and Enterprise tiers.",
                             "How does your product compare to building it ourselves?",
                             "Interested in a trial for our sales team.",
                             "Can someone call me this week about pricing?"))
        fields = [("Name", person.display if "," not in person.display else f"{person.first} {person.last}"),
                  ("Email", person.email), ("Company", company), ("Phone", person.phone)]
        if self.chance(0.5):
            fields.append(("Job title", person.title))
        fields += [("Country", {"US": "United States", "UK": "United Kingdom", "DE": "Germany", "FR": "France",
                                "ES": "Spain", "AU": "Australia", "JP": "Japan", "IT": "Italy", "NL": "Netherlands",
                                "CA": "Canada"}[person.country]), ("Message", message)]
        stamp = _EPOCH + timedelta(seconds=arrival - 2)
        submission = f"form-{stamp:%Y%m%d%H%M%S}.{self.hexid(6).lower()}@forms.{OUR_DOMAIN}"
        d.headers = [
            "From: Website Forms <no-reply@forms.yourcompany.example>",
            f"Reply-To: {_display(person.display, person.email)}",
            f"To: {d.alias}",
            f"Subject: {self.pick(('[Website] New submission: ', 'New website form submission: '))}{form[1]}",
            f"Date: {_rfc2822(arrival - 2)}",
            f"Message-ID: <{submission}>",
            "MIME-Version: 1.0",
        ]
        tail_headers = [f"X-Form-Id: {form[0]}", "X-Mailer: FormRelay/3.2", "Auto-Submitted: auto-generated"]
        if self.chance(0.3):
            rows = "".join(f'<tr><th align="left">{k}</th><td>{html_lib.escape(v)}</td></tr>\n' for k, v in fields)
            page = (f'<html><body>\n<h2 style="font-family:Arial,sans-serif">{form[1]}</h2>\n'
                    f'<table border="1" cellpadding="6" cellspacing="0">\n{rows}</table>\n</body></html>')
            d.content = self.text_part(page, "UTF-8", "7bit", "html")
        else:
            text = (f'New submission from the "{form[1]}" form on www.{OUR_DOMAIN}\n\n'
                    + "\n".join(f"{k}: {v}" for k, v in fields)
                    + f"\n\nPage URL: https://www.{OUR_DOMAIN}/{form[0]}\n"
                      f"Submitted at: {stamp:%Y-%m-%d %H:%M:%S} UTC\n\n--\nThis notification was generated "
                      "automatically. Reply to this email to contact the visitor.\n")
            d.content = self.text_part(text, "UTF-8", self.pick(("7bit", "quoted-printable")))
        d.headers[-1:-1] = tail_headers

    def rep(self) -> tuple[str, str, str]:
        first, last = self.pick(_REPS)
        return f"{first} {last}", f"{first.lower()}.{last.lower()}@{OUR_DOMAIN}", first

    def build_reply(self, d: _Draft, arrival: int) -> None:
        person = self.person(free_mail=0.05)
        rep_name, rep_email, rep_first = self.rep()
        company = person.company.name if person.company else person.last
        subject = self.pick(_REPLY_SUBJECTS).format(company=company)
        client = self.client(person.domain, person.free_mail)
        earlier = arrival - 3600 * (2 + int(self.random() * 70))
        reply = self.pick(_PROSPECT_REPLIES).format(n=self.pick((10, 20, 25, 50)))
        rep_text = self.pick(_REP_MESSAGES)
        rep_sig = [rep_name, f"{self.pick(_REP_TITLES)}, YourCompany", f"+1 (628) 555-01{int(self.random() * 90) + 10}"]
        mine = [f"Hi {rep_first},", "", reply, "", self.pick(_T["en"]["close"]), person.first, ""] + self.signature(
            person, phone=0.6)
        when = _EPOCH + timedelta(seconds=earlier)
        if client == 1:
            history = ["", "________________________________", f"From: {rep_name} <{rep_email}>",
                       f"Sent: {when:%A, %B} {when.day}, {when.year} {when:%I:%M %p}",
                       f"To: {person.display} <{person.email}>", f"Subject: {subject}", "",
                       f"Hi {person.first},", "", rep_text, "", "Best,", rep_first, "", "--"] + rep_sig
        else:
            history = ["", f"On {when:%a}, {when:%b} {when.day}, {when.year} at {when:%I:%M %p} {rep_name} "
                           f"<{rep_email}> wrote:"]
            quoted = [f"Hi {person.first},", "", *rep_text.split("\n"), "", "Best,", rep_first, "", "--"] + rep_sig
            history += [f"> {line}" if line else ">" for line in quoted]
        text = "\n".join(mine + history)
        d.alias = f"sales@{OUR_DOMAIN}"
        parent = f"<{self.hexid(20).lower()}@mail.{OUR_DOMAIN}>"
        d.headers = self.person_headers(d, person, client, f"Re: {subject}", arrival, "UTF-8",
                                        to=f"{rep_name} <{rep_email}>", cc=d.alias, in_reply_to=parent)
        html = None
        if client == 0 and self.chance(0.6):
            quoted_html = _text_html("\n".join(quoted), 0)
            html = (_text_html("\n".join(mine), 0) + f'<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
                    f'{html_lib.escape(history[1])}<br></div><blockquote class="gmail_quote" style="margin:0px 0px '
                    f'0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">{quoted_html}</blockquote>'
                    f'</div>')
        d.content = self.body(text, person.lang if person.lang != "ja" else "en", client, html=html)

    def build_forward(self, d: _Draft, arrival: int) -> None:
        original_draft = _Draft()
        person, subject, text = self.demo_pricing(original_draft, arrival)
        rep_name, rep_email, rep_first = self.rep()
        earlier = arrival - 3600 * (1 + int(self.random() * 30))
        note = [self.pick(("Hi team,", "Hi all,", "Team,")), "",
                f"{person.first} sent this to me directly. {self.pick(('Can someone pick it up?', 'Could someone in the region take this?', 'Not my territory, passing it on.'))}",
                "", "Thanks,", rep_first]
        d.alias = f"sales@{OUR_DOMAIN}"
        d.headers = self.person_headers(d, _Person(
            first=rep_first, last="", display=rep_name, email=rep_email, domain=OUR_DOMAIN, company=None, title="",
            phone="", lang="en", country="US", free_mail=False, family=""), 0, f"Fwd: {subject}", arrival, "UTF-8",
            to=d.alias)
        when = _EPOCH + timedelta(seconds=earlier)
        if self.chance(0.33):  # the inquiry attached as message/rfc822
            inner_headers = "\n".join([
                f"From: {_display(person.display, person.email)}", f"To: {rep_name} <{rep_email}>",
                f"Subject: {_header_text(subject, 'UTF-8', self.random())}", f"Date: {_rfc2822(earlier)}",
                f"Message-ID: {self.message_id(3, person.domain, earlier)}", "MIME-Version: 1.0"])
            inner = inner_headers.encode("ascii") + b"\n" + self.text_part(text, "UTF-8", "quoted-printable")
            safe = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in subject)
            part = (f'Content-Type: message/rfc822; name="{safe}.eml"\nContent-Disposition: attachment; '
                    f'filename="{safe}.eml"\n\n').encode("ascii") + inner
            d.content = self.body("\n".join(note), "en", 0, alternative=0.0, extra_parts=[part])
        else:
            block = ["", "---------- Forwarded message ---------", f"From: {person.display} <{person.email}>",
                     f"Date: {when:%a}, {when:%b} {when.day}, {when.year} at {when:%I:%M %p}", f"Subject: {subject}",
                     f"To: {rep_name} <{rep_email}>", "", ""]
            d.content = self.body("\n".join(note + block) + text, person.lang if person.lang != "ja" else "en", 0)

    def build_out_of_office(self, d: _Draft, arrival: int) -> None:
        person = self.person(free_mail=0.0)
        rep_name, rep_email, _ = self.rep()
        template_subject, template_body = self.pick(_OOO)
        back = _EPOCH + timedelta(seconds=arrival + 86400 * (1 + int(self.random() * 14)))
        colleague = self.new_person(country=person.country)
        subject = template_subject.format(subject=self.pick(_REPLY_SUBJECTS).format(
            company=person.company.name if person.company else ""))
        text = template_body.format(date=f"{_MONTH_NAMES[back.month - 1]} {back.day}", colleague=colleague.display,
                                    colleague_email=colleague.email.split("@")[0] + "@" + person.domain)
        text += f"\n\n{self.pick(('Best regards,', 'Regards,', 'Mit freundlichen Grüßen'))}\n{person.display}\n"
        client = self.client(person.domain, False)
        d.alias = f"sales@{OUR_DOMAIN}"
        d.headers = self.person_headers(
            d, person, client, subject, arrival, "UTF-8", to=f"Sales <{d.alias}>",
            extra=("Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All"),
            in_reply_to=f"<{self.hexid(20).lower()}@mail.{OUR_DOMAIN}>")
        d.mail_from = ""
        d.content = self.body(text, "en", client, alternative=0.0)

    def build_newsletter(self, d: _Draft, arrival: int) -> None:
        brand, subject_template, kind = self.pick(_NEWSLETTERS)
        slug = brand.lower().replace(" ", "")
        domain = f"{slug}.example"
        sender = self.pick(("news", "hello", "team", "nora", "partners"))
        subject = subject_template.format(n=10 + int(self.random() * 90), company_ours="YourCompany")
        d.alias = f"{self.pick(('partners', 'sales', 'info', 'hello', 'jobs'))}@{OUR_DOMAIN}"
        d.mail_from = f"bounce+{self.hexid(6).lower()}@em.{domain}"
        d.relay, d.ip = f"o{int(self.random() * 40)}.em.{domain}", self.ip()
        d.auth = self.auth(d.mail_from, domain, d.ip)
        u = self.hexid(6).lower()
        if kind == "recruiter":
            lines = ["Hi there,", "", "We place pre-vetted senior engineers and our candidates are available to "
                     "interview this week. Our fee is 15% of first-year salary.", "",
                     "Reply to see anonymised profiles.", "", f"{brand}", "",
                     f"Unsubscribe: https://{domain}/unsubscribe?u={u}"]
        else:
            lines = [subject.upper(), "", "Hi there,", "", "This week: 5 ways to enrich inbound leads before they "
                     "hit your CRM.", "", "1. Firmographic enrichment", "2. Intent signals", "3. Phone validation", "",
                     f"Read more: https://{domain}/blog?utm_source=newsletter", "",
                     "You're receiving this because you subscribed to our newsletter.",
                     f"Unsubscribe: https://{domain}/unsubscribe?u={u}"]
        text = "\n".join(lines)
        pixel = f'<img src="https://{domain}/o/{self.hexid(12).lower()}.gif" width="1" height="1" alt="">'
        html = (f'<!DOCTYPE html>\n<html><body style="margin:0;padding:0;background:#eef2f7">\n<table width="600" '
                f'cellpadding="24"><tr><td>' + "".join(f"<p>{html_lib.escape(line)}</p>" for line in lines if line)
                + f'<p><a href="https://{domain}/blog?utm_source=newsletter">Read more</a> | <a href="https://'
                f'{domain}/unsubscribe?u={u}">Unsubscribe</a></p></td></tr></table>{pixel}</body></html>')
        mid = f"<{_EPOCH + timedelta(seconds=arrival):%Y%m%d%H%M%S}.{u}@em.{domain}>"
        d.headers = [f"From: {brand} <{sender}@{domain}>", f"To: {d.alias}", f"Subject: {subject}",
                     f"Date: {_rfc2822(arrival - 30)}", f"Message-ID: {mid}", "MIME-Version: 1.0",
                     f"List-Unsubscribe: <https://{domain}/unsubscribe?u={u}>, <mailto:unsubscribe@em.{domain}>",
                     "List-Unsubscribe-Post: List-Unsubscribe=One-Click", "Precedence: bulk"]
        d.content = self.body(text, "en", 4, html=html)

    def build_spam(self, d: _Draft, arrival: int) -> None:
        subject, template = self.pick(_SPAM)
        domain = f"{self.pick(_SPAM_DOMAINS)}{int(self.random() * 100)}.example"
        local = self.pick(("info", "noreply", "ranking", "support", "x", "promo"))
        address = f"{local}@{domain}"
        r = self.random()
        if r < 0.35:
            display = f'"{self.pick(_SPOOFED)}" <{address}>'
        elif r < 0.7:
            display = f'"{self.pick(("PayPal Service", "Google SEO Team", "Microsoft Security", "DHL Express"))}" <{address}>'
        else:
            display = address
        if self.chance(0.5):
            link = f"https://{self.pick(_SHORTENERS)}/{self.token(7)}"
        else:
            link = f"http://{self.ip()}/{self.pick(('login.php', 'verify', 'claim', 'secure/update'))}"
        text = "Hello,\n\n" + template.format(link=link) + "\n\nRegards,\nThe Team\n"
        d.alias = f"{self.pick(('sales', 'info', 'hello', 'support', 'demo'))}@{OUR_DOMAIN}"
        d.mail_from = f"bounce-{int(self.random() * 9999)}@mailer.{domain}"
        d.relay, d.ip = f"vps-{int(self.random() * 9999)}.cheap-hosting.example", self.ip()
        d.auth = self.auth(d.mail_from, domain, d.ip, spf=self.pick(("fail", "softfail")),
                           dkim=self.pick(("none", "fail")), dmarc="fail")
        encoded_subject = _encoded_words(subject, "UTF-8", "B") if self.chance(0.4) else subject
        d.headers = [f"From: {display}", f"To: {self.pick(('undisclosed-recipients:;', d.alias))}",
                     f"Subject: {encoded_subject}", f"Date: {_rfc2822(arrival - int(self.random() * 7200), '+0530')}",
                     f"Message-ID: <{_EPOCH + timedelta(seconds=arrival):%Y%m%d%H%M%S}.{self.hexid(10)}@{domain}>",
                     "MIME-Version: 1.0", "X-Priority: 1 (Highest)"]
        html = None
        if self.chance(0.5):
            anchor = self.pick(("www.paypal.example", "Verify now", "microsoft.example/secure", "Claim reward"))
            html = (f'<html><body><p>Hello,</p><p>{html_lib.escape(template.format(link=""))}</p>'
                    f'<p><a href="{link}">{anchor}</a></p></body></html>')
        attachments = [("invoice_pdf", f"Invoice_{int(self.random() * 99999)}.pdf")] if self.chance(0.08) else []
        d.content = self.body(text, "en", 4, html=html, attachments=attachments)

    # -- deliveries -------------------------------------------------------------------------------
    def head(self, alias: str, relay: str, ip: str, arrival: int) -> bytes:
        return (f"Delivered-To: {alias}\nReceived: from {relay} ({relay} [{ip}])\n\tby mx.{OUR_DOMAIN} (Postfix) with "
                f"ESMTPS id {self.hexid(12)}\n\tfor <{alias}>; {_rfc2822(arrival)} (UTC)\n").encode("ascii")

    def tail(self, d: _Draft) -> bytes:
        headers = "\n".join(d.headers)
        return (f"Return-Path: <{d.mail_from}>\n{d.auth}{headers}\n").encode("ascii") + d.content

    def name(self, slot: int, arrival: int) -> str:
        return f"{_day_iso(arrival // 86400)}/{slot:0{self.width}d}.eml"

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for slot in range(self.count):
            copy = self.due_copy(slot)
            if copy is not None:
                raw = self.head(copy.alias, copy.relay, copy.ip, copy.arrival) + copy.tail
                yield self.name(slot, copy.arrival), (raw.replace(b"\n", b"\r\n") if copy.crlf else raw)
                continue
            arrival = self.arrival_for(slot)
            kind = _CATEGORY_NAMES[bisect_right(_CATEGORY_CUM, self.random() * _CATEGORY_CUM[-1])]
            d = self.inbound(kind, arrival)
            tail = self.tail(d)
            crlf = self.chance(0.08)
            raw = self.head(d.alias, d.relay, d.ip, arrival) + tail
            if d.cc_alias:  # the same message delivered to the Cc alias a moment later
                self.schedule(slot, d.cc_alias, arrival + 1 + int(self.random() * 3), d, tail, crlf)
            elif self.chance(_P_REDELIVERY):  # the same bytes again: a retry after a lost 250
                self.schedule(slot, d.alias, arrival + 20 + int(self.random() * 900), d, tail, crlf)
            yield self.name(slot, arrival), (raw.replace(b"\n", b"\r\n") if crlf else raw)

    def schedule(self, slot: int, alias: str, arrival: int, d: _Draft, tail: bytes, crlf: bool) -> None:
        self.pending.append(_Copy(slot + 1 + int(self.random() * 20), alias, arrival, d.relay, d.ip, tail, crlf))

    def due_copy(self, slot: int) -> _Copy | None:
        for index, copy in enumerate(self.pending):
            if copy.due <= slot:
                return self.pending.pop(index)
        return None


def generate_messages(
    count: int, *, seed: int = 0, start: date = DEFAULT_START, days: int = 365
) -> Iterator[tuple[str, bytes]]:
    """Yield `count` synthetic inbound messages as ``(relative file name, raw RFC 5322 bytes)``.

    Deterministic for (count, seed, start, days); memory stays bounded whatever `count` is.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if count == 0:
        return iter(())
    return _Generator(seed, start, days, count).messages()


FORMATS = ("eml", "mbox")
MBOX_NAME = "inbox.mbox"
_MBOX_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


@dataclass(frozen=True)
class Written:
    messages: int
    bytes: int
    path: Path  # the folder of .eml files, or the mbox file


def write_corpus(
    out: str | os.PathLike, count: int, *, seed: int = 0, start: date = DEFAULT_START, days: int = 365,
    fmt: str = "eml",
) -> Written:
    """Write `count` generated messages under `out`: ``out/YYYY-MM-DD/<n>.eml`` files, or one
    mbox file ``out/inbox.mbox`` (lines starting with "From " escaped as ">From ")."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    total = written = 0
    if fmt == "mbox":
        path = root / MBOX_NAME
        with open(path, "wb") as handle:
            for name, raw in generate_messages(count, seed=seed, start=start, days=days):
                day = date.fromisoformat(name[:10])
                if b"From " in raw:
                    raw = _MBOX_FROM_LINE.sub(rb">\1", raw)
                handle.write(f"From MAILER-DAEMON {_WEEKDAYS[day.weekday()]} {_MONTHS[day.month - 1]} {day.day:2d} "
                             f"00:00:00 {day.year}\n".encode("ascii"))
                handle.write(raw)
                handle.write(b"\n" if raw.endswith(b"\n") else b"\n\n")
                total += len(raw)
                written += 1
        return Written(written, total, path)
    made: set[str] = set()
    prefix = os.fspath(root) + os.sep
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    for name, raw in generate_messages(count, seed=seed, start=start, days=days):
        folder = name[:10]
        if folder not in made:
            (root / folder).mkdir(exist_ok=True)
            made.add(folder)
        fd = os.open(prefix + name, flags, 0o644)  # plain os calls: a file object costs more than the write
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        total += len(raw)
        written += 1
    return Written(written, total, root)
