"""Text of the demo community: a fictional product suite, "Acme Cloud"."""

CATEGORIES = [
    ("Billing & Accounts", "Plans, invoices, payment methods, refunds and account access."),
    ("Sync & Storage", "Files that do not sync, conflicts, quotas and restoring old versions."),
    ("Mobile App", "The iOS and Android apps: login, notifications, offline mode."),
    ("Integrations & API", "Webhooks, the REST API, Zapier, Slack and SSO."),
    ("Getting Started", "Setting up your team, importing data and first steps."),
]

CUSTOMERS = ["bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"]

THREADS = [
    {
        "category": "Billing & Accounts", "tags": ["invoice", "billing"],
        "title": "Where can I download invoices for past months?",
        "body": "Our finance team needs PDF invoices for the last year. The billing page only shows the current plan. Is there an archive somewhere?",
        "answers": [
            {"body": "Go to **Settings → Billing → Invoice history**. Every invoice has a *Download PDF* link, and you can pick a date range at the top.", "accepted": True},
            {"body": "If you are not the account owner you will not see that tab: ask the owner to add you as a *Billing admin*."},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["sync", "desktop"],
        "title": "Desktop app stuck on 'Syncing 1 file' forever",
        "body": "Since yesterday the desktop client says *Syncing 1 file* and never finishes. Restarting does not help. Windows 11, client 4.2.",
        "answers": [
            {"body": "This is usually a file with a name that is too long or has a character Windows does not allow. Open **Activity → Sync issues** to see which file it is, rename it, and sync resumes.", "accepted": True},
            {"body": "Same here; in my case it was a file open in Excel. Closing Excel fixed it."},
        ],
    },
    {
        "category": "Mobile App", "tags": ["ios", "login"],
        "title": "Cannot log in on iPhone after changing my password",
        "body": "I changed my password on the website and now the iOS app keeps saying *invalid credentials* even with the new password.",
        "answers": [
            {"body": "Sign out completely in the app (**Profile → Sign out**), force-quit it, then sign in again. The app caches the old session token.", "accepted": True},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["api", "webhooks"],
        "title": "Webhook deliveries fail with a 401 from my endpoint",
        "body": "I set up a webhook for `file.created` but my server answers 401 to every delivery. How do I verify the signature?",
        "answers": [
            {"body": "Each delivery carries an `X-Acme-Signature` header: an HMAC-SHA256 of the raw body with your webhook secret. Compute it over the **raw bytes** before parsing JSON and compare with a constant-time comparison.", "accepted": True},
            {"body": "Also check that your framework does not reject requests without a CSRF token: webhooks never have one."},
        ],
    },
    {
        "category": "Getting Started", "tags": ["team", "invite"],
        "title": "How do I invite my whole team at once?",
        "body": "We have 40 people to add. Inviting them one by one is painful. Is there a bulk invite?",
        "answers": [
            {"body": "Yes: **Admin → Members → Invite → Upload CSV** takes a file with one email per line (and an optional role column)."},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["refund", "billing"],
        "title": "Charged twice for the annual plan this month",
        "body": "My card statement shows two charges for the annual plan on the same day. I only upgraded once. How do I get one refunded?",
        "answers": [],
    },
    {
        "category": "Sync & Storage", "tags": ["restore", "versions"],
        "title": "Restore a previous version of a spreadsheet I overwrote",
        "body": "I accidentally saved over an important spreadsheet this morning. Can I get yesterday's version back?",
        "answers": [
            {"body": "Right-click the file → **Version history**. Versions are kept for 30 days on the Team plan (180 on Business). Pick yesterday's and click *Restore*.", "accepted": True},
        ],
    },
    {
        "category": "Mobile App", "tags": ["android", "notifications"],
        "title": "No push notifications on Android 14",
        "body": "I get no notifications from the Android app at all, even though they are enabled in the app's settings.",
        "answers": [
            {"body": "Android 14 also needs the system permission: **Settings → Apps → Acme → Notifications → Allow**. Battery optimisation can also kill the app in the background; set it to *Unrestricted*."},
            {"body": "Check whether Do Not Disturb is on, it silences these too."},
        ],
    },
]
