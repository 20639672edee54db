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
    {
        "category": "Getting Started", "tags": ["import", "csv"],
        "title": "Importing contacts from a spreadsheet skips half the rows",
        "body": "I uploaded a CSV with 1,200 contacts and only 600 ended up in the workspace. No error message, it just says *Import finished*. What am I doing wrong?",
        "answers": [
            {"body": "Rows with an email that already exists in the workspace are skipped silently. Download the **import report** (Admin → Imports → the little ⋯ menu) — it lists every skipped row and why.", "accepted": True},
            {"body": "Also check the encoding. Excel on Windows saves CSV as Windows-1252 by default; rows with accents got dropped for me until I exported as *CSV UTF-8*."},
            {"body": "Same problem, the report showed duplicates for me too. Thanks!"},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["plan", "downgrade"],
        "title": "What happens to my files if I downgrade from Business to Team?",
        "body": "We are thinking of moving to the Team plan to save money. We use about 3 TB today. Will anything be deleted if we go over the Team quota?",
        "answers": [
            {"body": "Nothing is deleted. If you are over the new quota the workspace becomes **read-only for uploads** until you are under it again; everyone can still open and download files.", "author": "agent", "accepted": True},
            {"body": "One thing to know: version history drops from 180 to 30 days on Team, and older versions are removed at the next nightly cleanup."},
        ],
    },
    {
        "category": "Mobile App", "tags": ["offline", "android"],
        "title": "Offline files disappear from my phone after a few days",
        "body": "I mark folders as *Available offline* before flights, but after 3–4 days the files are gone and I have to download them again. Samsung Galaxy S23.",
        "answers": [
            {"body": "Samsung's *Device care* deletes app caches it thinks are unused. Go to **Settings → Battery and device care → Storage** and exclude Acme, or turn off *Auto optimisation*.", "accepted": True},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["sso", "okta"],
        "title": "SSO with Okta: users get 'account not provisioned'",
        "body": "We enabled SAML SSO with Okta. Existing users can log in, but new employees get *Account not provisioned* on their first login. Do we have to invite each one first?",
        "answers": [
            {"body": "Turn on **Just-in-time provisioning** in Admin → Security → SSO. Without it only people who already have an account can sign in with SSO.", "accepted": True},
            {"body": "If you want to control who gets in, use SCIM instead of JIT: Okta then creates and deactivates accounts for you when people join or leave groups."},
            {"body": "Note JIT needs the `email` attribute in the SAML assertion, not just the NameID. That tripped us up."},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["conflict", "sync"],
        "title": "Why do I get files named 'report (conflicted copy)'?",
        "body": "Every week there are a few files with *(conflicted copy)* in the name in our shared folder. Which one is the right one and how do we stop this?",
        "answers": [
            {"body": "A conflicted copy is made when two people save the same file while one of them is offline or has not synced yet. Nothing is lost: compare the two, keep the right one, delete the other. To avoid it, turn on **file locking** for Office files (Admin → Sync → Lock files while editing).", "accepted": True},
            {"body": "For us it was one laptop whose clock was 10 minutes off. After fixing the time zone settings the conflicts stopped."},
        ],
    },
    {
        "category": "Getting Started", "tags": ["permissions", "folders"],
        "title": "How do I give a contractor access to one folder only?",
        "body": "We hired a freelancer for a month. I want them to see the *Marketing/2025 campaign* folder and nothing else. Do I need to buy a full seat?",
        "answers": [
            {"body": "Share the folder with their email as a **guest**. Guests do not use a paid seat, only see what is shared with them, and you can set an expiry date on the share.", "accepted": True},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["vat", "invoice"],
        "title": "How do I add our VAT number to invoices?",
        "body": "We are a company in Germany and our accountant needs our VAT ID on every invoice. I can't find where to enter it.",
        "answers": [
            {"body": "**Settings → Billing → Company details → Tax ID**. It appears on invoices issued after you save it; for older ones, contact support and they re-issue them.", "accepted": True},
            {"body": "If the VAT ID is valid (checked against VIES) you will also stop being charged German VAT under the reverse-charge rule."},
        ],
    },
    {
        "category": "Mobile App", "tags": ["ios", "camera-upload"],
        "title": "Camera upload stops when the app is in the background",
        "body": "Camera upload only works while the app is open on screen. As soon as I switch apps it pauses. iPhone 14, iOS 17.",
        "answers": [
            {"body": "iOS only lets apps upload in the background for short bursts. Enable **Background App Refresh** for Acme and keep *Low Power Mode* off; uploads then continue for a while and resume when you are on Wi-Fi and charging."},
            {"body": "Also make sure *Upload over cellular* is allowed if you are not on Wi-Fi, otherwise it waits forever."},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["api", "rate-limit"],
        "title": "API returns 429 Too Many Requests during our nightly export",
        "body": "Our script lists all files through the REST API every night and after a few minutes we get `429 Too Many Requests`. What are the limits?",
        "answers": [
            {"body": "The limit is 600 requests per minute per token. Every 429 has a `Retry-After` header in seconds: sleep that long and continue. Better still, use the `/changes` endpoint with a cursor so you only fetch what changed since last night.", "accepted": True},
            {"body": "We switched to `/changes` and our export went from 40 minutes to under one. Highly recommended."},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["quota", "storage"],
        "title": "Storage shows full but I deleted lots of files",
        "body": "I deleted about 200 GB yesterday but the storage bar still says 98% used. Is it broken?",
        "answers": [
            {"body": "Deleted files stay in the **Trash** for 30 days and still count toward your quota. Empty the trash (or the files you are sure about) and the bar updates within an hour.", "accepted": True},
        ],
    },
    {
        "category": "Getting Started", "tags": ["desktop", "install"],
        "title": "Can I install the desktop app without admin rights?",
        "body": "Our IT department does not give us admin rights on our laptops. The installer asks for an admin password. Is there another way?",
        "answers": [
            {"body": "Yes, there is a per-user installer: on the download page click **Other options → Install for me only**. It installs into your user folder and needs no admin rights."},
            {"body": "Your IT team can also push the MSI with Intune or SCCM; the admin guide has the silent install switches."},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["password", "login"],
        "title": "Locked out after too many password attempts",
        "body": "I typed my password wrong several times and now it says my account is locked for 30 minutes. I need a file for a meeting in 10 minutes!",
        "answers": [
            {"body": "Use **Forgot password** on the login page: a reset unlocks the account immediately. The lock only blocks password logins, not the reset.", "accepted": True},
        ],
    },
    {
        "category": "Mobile App", "tags": ["android", "crash"],
        "title": "Android app crashes when opening large PDFs",
        "body": "Any PDF over about 50 MB makes the app close immediately. Smaller ones open fine. Pixel 7, Android 14, app version 8.3.1.",
        "answers": [
            {"body": "Known issue in 8.3.1 with the built-in viewer. Workaround until the fix ships: long-press the file → **Open with** → your PDF reader of choice.", "author": "agent"},
            {"body": "Can confirm, the workaround works. Hope the fix comes soon."},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["slack", "notifications"],
        "title": "Slack integration posts every change, way too noisy",
        "body": "We connected Slack and now our channel gets a message for every single file edit. Can we only get notified for new files in one folder?",
        "answers": [
            {"body": "In Slack, type `/acme settings`. You can pick the folder, and untick *Edits* so only **new files** and **comments** are posted.", "accepted": True},
            {"body": "We created a separate channel for the noisy folder and muted it. Works too."},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["selective-sync", "desktop"],
        "title": "Selective sync: can I keep some folders online-only?",
        "body": "My laptop has a 256 GB disk and our team space is 1 TB. I only need a few folders locally. How do I choose?",
        "answers": [
            {"body": "Right-click a folder in the file explorer → **Acme → Make online-only**. It stays visible but takes no space until you open a file. *Always keep on this device* does the opposite.", "accepted": True},
            {"body": "Tip: the preferences also have *Free up space automatically* which makes files online-only when they have not been opened for 30 days."},
        ],
    },
    {
        "category": "Getting Started", "tags": ["team", "roles"],
        "title": "What is the difference between an Admin and an Owner?",
        "body": "I want to give our office manager rights to add people, but not to see billing. Which role should she get?",
        "answers": [
            {"body": "Make her an **Admin**: admins manage members, groups and settings. Only the **Owner** (one per workspace) sees billing and can delete the workspace. If she should see invoices too, there is an extra *Billing admin* toggle.", "accepted": True},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["cancel", "refund"],
        "title": "Cancelled my trial but was still charged",
        "body": "I cancelled during the 14-day trial (I have the confirmation email) but I was charged $180 today. How do I get this back?",
        "answers": [],
    },
    {
        "category": "Mobile App", "tags": ["ios", "face-id"],
        "title": "Face ID option missing in the iOS app settings",
        "body": "A colleague has *Unlock with Face ID* in the app settings, I don't. Same app version. Why?",
        "answers": [
            {"body": "The option only appears once a **passcode** is set in the app (Settings → Security → Passcode). Set one and Face ID shows up underneath.", "accepted": True},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["zapier", "automation"],
        "title": "Zapier trigger 'New file in folder' does not fire for subfolders",
        "body": "My Zap watches `/Invoices` but files uploaded to `/Invoices/2025/March` do not trigger it. Is there a recursive option?",
        "answers": [
            {"body": "The Zapier trigger is not recursive. Use the **New file (search)** trigger instead with a path prefix of `/Invoices/`, which matches all subfolders."},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["sync", "mac"],
        "title": "Mac client uses 100% CPU after updating to macOS Sonoma",
        "body": "Since the macOS update the Acme process sits at 100% CPU and the fans are always on. Client 4.3.0.",
        "answers": [
            {"body": "After a macOS upgrade the client re-indexes everything once, which can take a few hours for large folders. If it is still high after a day, quit the client, delete `~/Library/Application Support/Acme/index` and start it again.", "accepted": True},
            {"body": "It calmed down for me after about 3 hours, 400 GB synced folder."},
            {"body": "Also make sure you have 4.3.2, it fixed a loop with Time Machine backups."},
        ],
    },
    {
        "category": "Getting Started", "tags": ["migration", "import"],
        "title": "Moving 2 TB from Google Drive: best way?",
        "body": "We are switching from Google Drive. Is there a migration tool or do we download and re-upload everything?",
        "answers": [
            {"body": "Use **Admin → Migrate → Google Drive**. It copies server-to-server (nothing goes through your computers), keeps folder structure and sharing, and you can run a delta pass at cut-over.", "author": "agent", "accepted": True},
            {"body": "Google Docs are converted to Office formats on the way. Check a few complex spreadsheets afterwards; formulas were fine for us."},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["seats", "billing"],
        "title": "Do deactivated users still count as paid seats?",
        "body": "Three people left the company. I deactivated their accounts but the next invoice still has the same number of seats.",
        "answers": [
            {"body": "Deactivated users keep their seat until you **remove** them (or transfer their files and delete). After removal the seat is credited pro rata on the next invoice.", "accepted": True},
        ],
    },
    {
        "category": "Mobile App", "tags": ["android", "login"],
        "title": "SSO login on Android opens a blank page",
        "body": "When I tap *Log in with SSO* on Android, a white page opens and nothing happens. It works on the website.",
        "answers": [],
    },
    {
        "category": "Integrations & API", "tags": ["api", "oauth"],
        "title": "OAuth refresh token stops working after 90 days",
        "body": "Our integration uses the refresh token, but after about three months every call fails with `invalid_grant`. Do refresh tokens expire?",
        "answers": [
            {"body": "Refresh tokens expire after **90 days without use** and rotate on each use: store the *new* refresh token you receive every time you refresh. If you keep using the first one, it dies.", "accepted": True},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["sharing", "links"],
        "title": "Shared link says 'This link has expired' but I never set an expiry",
        "body": "A customer reports that a download link I sent last month is expired. I did not set any expiry date.",
        "answers": [
            {"body": "Your admin probably set a **default expiry** for links (Admin → Sharing → Link expiry). It applies to links without their own date. You can extend the link from *Shared → Links*."},
            {"body": "Ours was 30 days by default after a security review, nobody told the team."},
        ],
    },
    {
        "category": "Getting Started", "tags": ["2fa", "security"],
        "title": "How do we require two-factor authentication for everyone?",
        "body": "Our insurer wants 2FA on all accounts. Can I force it, and what happens to people who have not set it up?",
        "answers": [
            {"body": "Admin → Security → **Require two-step verification**. You can set a grace period; after it, people without 2FA are asked to set it up at their next login and cannot continue until they do.", "accepted": True},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["payment", "card"],
        "title": "Card declined when paying, but the bank says it's fine",
        "body": "Every time I try to update the card I get *Your card was declined*. My bank says they see no attempt at all.",
        "answers": [
            {"body": "That usually means the 3-D Secure popup was blocked. Disable the popup blocker for the billing page, or try another browser; the bank's confirmation window has to open."},
            {"body": "For me it was a VPN, the payment provider refused the request before it reached the bank."},
        ],
    },
    {
        "category": "Mobile App", "tags": ["notifications", "ios"],
        "title": "Getting notifications twice on iPhone and Apple Watch",
        "body": "Every comment notification arrives on the phone and then again on the watch a minute later. Can I keep it on the phone only?",
        "answers": [],
    },
    {
        "category": "Integrations & API", "tags": ["webhooks", "retries"],
        "title": "How many times are webhooks retried if my server is down?",
        "body": "We had an outage of 2 hours. Did we lose webhook events, or are they retried?",
        "answers": [
            {"body": "Deliveries are retried with exponential backoff for **24 hours** (about 15 attempts). The delivery log in the developer console shows each attempt and lets you re-send any event by hand.", "accepted": True},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["restore", "trash"],
        "title": "Recover a folder a colleague deleted two months ago",
        "body": "A colleague deleted a project folder in spring and we only noticed now. The Trash only goes back 30 days. Is it gone?",
        "answers": [
            {"body": "On the Business plan admins can restore from **Admin → Data → Deleted items**, which keeps 180 days. On Team it's 30 days, after which it is really gone, sorry.", "author": "agent", "accepted": True},
        ],
    },
    {
        "category": "Getting Started", "tags": ["groups", "permissions"],
        "title": "Best way to organise folders for 5 departments?",
        "body": "We're setting up from scratch. Should we create one team folder per department, or one big folder with subfolders?",
        "answers": [
            {"body": "One **team folder per department**, each shared with a group of the same name. Permissions then follow group membership, and people only see folders they belong to.", "accepted": True},
            {"body": "Add one company-wide folder for shared templates and policies. Keep the top level short, people get lost in deep trees."},
            {"body": "We did this and it scaled to 20 departments without trouble."},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["nonprofit", "discount"],
        "title": "Is there a discount for non-profits?",
        "body": "We are a registered charity with 25 volunteers. Are there special prices?",
        "answers": [
            {"body": "Yes, 50% off Team and Business for registered non-profits. Apply from Settings → Billing → *Non-profit programme* with your registration document."},
        ],
    },
    {
        "category": "Mobile App", "tags": ["android", "sd-card"],
        "title": "Can the Android app store offline files on the SD card?",
        "body": "My phone's internal storage is almost full. I'd like offline files on the 256 GB SD card instead.",
        "answers": [
            {"body": "Settings → Offline files → **Storage location** → SD card. Existing offline files are moved across, which can take a while."},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["api", "python"],
        "title": "Upload files larger than 150 MB with the API",
        "body": "The `/files/upload` endpoint rejects my 400 MB video with `413 Payload Too Large`. How do I upload big files?",
        "answers": [
            {"body": "Use an **upload session**: `POST /files/upload_session/start`, then send 8–64 MB chunks with `append`, then `finish` with the path. The Python SDK's `upload_large()` does all of this for you.", "accepted": True},
            {"body": "Chunks must be a multiple of 4 MB except the last one, otherwise `append` fails with a confusing offset error."},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["sync", "linux"],
        "title": "Is there a Linux client?",
        "body": "Half of our developers use Ubuntu. Is there a desktop client or do they have to use the web?",
        "answers": [],
    },
    {
        "category": "Getting Started", "tags": ["audit", "admin"],
        "title": "Can admins see who downloaded a file?",
        "body": "We need to know who downloaded a confidential contract last week. Is that logged anywhere?",
        "answers": [
            {"body": "Admin → Reports → **Activity log**, filter by the file. Downloads, previews and shares are all recorded with user, time and IP address (Business plan).", "accepted": True},
        ],
    },
    {
        "category": "Billing & Accounts", "tags": ["account", "email"],
        "title": "Change the email address of my account",
        "body": "I'm moving from my personal address to my work email. Can I change it without losing my files?",
        "answers": [
            {"body": "Profile → Account → **Email**. You confirm the new address by a link; files and shares stay as they are."},
        ],
    },
    {
        "category": "Mobile App", "tags": ["ios", "files-app"],
        "title": "Acme does not show up in the iOS Files app",
        "body": "I want to attach files from Acme in Mail, but Acme is not listed in *Files → Browse → Locations*.",
        "answers": [
            {"body": "In the Files app tap **⋯ → Edit** at the top of Browse and switch Acme on. It is off by default for new installs.", "accepted": True},
            {"body": "Open the Acme app once after installing too, iOS only lists the provider after the first launch."},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["teams", "microsoft"],
        "title": "Microsoft Teams tab asks me to log in every single time",
        "body": "We added an Acme tab in a Teams channel. Every time I open it I have to sign in again.",
        "answers": [
            {"body": "Teams blocks third-party cookies in its desktop app. Ask your admin to enable **SSO for the Teams app** (Admin → Integrations → Microsoft Teams), then the tab uses your Microsoft login.", "accepted": True},
        ],
    },
    {
        "category": "Sync & Storage", "tags": ["sync", "network-drive"],
        "title": "Can I sync a folder on a network drive (NAS)?",
        "body": "We want the Acme folder to live on our Synology NAS so the office PCs share one copy. The client refuses the path.",
        "answers": [
            {"body": "Network drives are not supported as the sync location: file change notifications over SMB are unreliable and lead to data loss. Each PC should sync its own copy, or use the web/Files integration."},
            {"body": "Synology has its own Cloud Sync package which can talk to Acme directly, that's what we use for the NAS."},
        ],
    },
    {
        "category": "Integrations & API", "tags": ["api", "pagination"],
        "title": "List endpoint returns the same page twice",
        "body": "I'm paging through `/files/list` with `offset` and sometimes get duplicates or miss files when people upload at the same time:\n\n```python\nfor offset in range(0, total, 100):\n    page = client.get('/files/list', params={'offset': offset, 'limit': 100})\n```\n\nIs there a stable way to page?",
        "answers": [
            {"body": "Use the `cursor` returned by each page instead of an offset: `params={'cursor': page['next_cursor']}`. Cursors are stable while files are added or removed.", "accepted": True},
            {"body": "Offsets shift whenever something is inserted before your position, that's why you see duplicates. @carol had the same issue last month."},
        ],
    },
    {
        "category": "Getting Started", "tags": ["training", "onboarding"],
        "title": "Is there a short video to train new staff?",
        "body": "We onboard about 10 people a month. Is there a 5-minute intro video or a guide we can send them on day one?",
        "answers": [
            {"body": "The *Getting started* page in the help center has a 6-minute video and a one-page PDF cheat sheet. We send both in our welcome email."},
            {"body": "Admins can also turn on the in-app **welcome tour** for new members under Admin → Members → Onboarding."},
        ],
    },
]
