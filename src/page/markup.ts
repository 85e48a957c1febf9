// Owns the customer-base page's HTML and CSS: the headings, regions and empty
// table the script fills, laid out to read at a glance at 1280x900.

export const PAGE_STYLE = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #5b6570; --line: #d8dee4; --panel: #ffffff; --ground: #f4f6f8;
  --accepted: #1a7f37; --not-accepted: #c2410c; --unknown: #8c959f; --status: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--ground); }
header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; background: var(--panel); border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 10px; }
h3 { font-size: 13px; margin: 10px 0 4px; color: var(--muted); font-weight: 600; }
header p { margin: 0; color: var(--muted); }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr) minmax(0, 360px); gap: 16px; padding: 16px 24px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; min-width: 0; }
#customers { grid-column: span 2; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; font-variant-numeric: tabular-nums; }
.bar { display: grid; grid-template-columns: 9.5em 1fr 4.5em; align-items: center; gap: 8px; margin: 5px 0; }
.bar .label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.bar .track { height: 14px; background: var(--ground); border-radius: 3px; overflow: hidden; }
.bar .fill { height: 100%; width: 0; background: var(--status); }
.bar .count { text-align: right; font-variant-numeric: tabular-nums; }
.fill.accepted, .fill.APPROVED { background: var(--accepted); }
.fill.not-accepted, .fill.DENIED { background: var(--not-accepted); }
.fill.unknown, .fill.NONE { background: var(--unknown); }
.fill.IN_REVIEW { background: #bf8700; }
#qualification-bars { max-height: 300px; overflow: auto; }
.note { color: var(--muted); margin: 0 0 8px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.company { white-space: normal; }
.scroll { overflow-x: auto; }
th { background: var(--ground); font-weight: 600; }
.id { display: block; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 11px; color: var(--muted); }
nav { display: flex; align-items: center; gap: 12px; margin-top: 10px; }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); cursor: pointer; }
button:disabled { cursor: default; color: var(--unknown); }
a { color: var(--status); }
#changes { list-style: none; margin: 0; padding: 0; max-height: 620px; overflow: auto; }
#changes li { padding: 6px 0; border-bottom: 1px solid var(--line); }
#changes .what { font-weight: 600; }
#changes .when, #changes .detail { color: var(--muted); font-size: 12px; }
.live { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--unknown); margin-right: 6px; }
.live.on { background: var(--accepted); }
[role="alert"] { color: var(--not-accepted); }
[role="alert"]:empty { display: none; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** The page around its style and script, which are inlined and allowed by their hashes in the CSP. */
export function pageHtml(style: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer base · Partner Center gateway</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>Customer base</h1>
<p id="sync-line" role="status">Loading…</p>
</header>
<p id="problem" role="alert"></p>
<main>
<section id="sync" aria-labelledby="sync-heading">
<h2 id="sync-heading">Background sync</h2>
<dl>
<dt>Enabled</dt><dd id="sync-enabled">…</dd>
<dt>Customers known</dt><dd id="sync-known">…</dd>
<dt>Customers synced</dt><dd id="sync-synced">…</dd>
<dt>Last pass completed</dt><dd id="sync-last-pass">…</dd>
<dt>Oldest data read</dt><dd id="sync-oldest">…</dd>
</dl>
</section>
<section id="mca" aria-labelledby="mca-heading">
<h2 id="mca-heading">MCA acceptance</h2>
<p class="note">Of <span id="customer-count">…</span> customers: signed directly or confirmed by the partner.</p>
<div id="mca-bars"></div>
</section>
<section id="qualifications" aria-labelledby="qualifications-heading">
<h2 id="qualifications-heading">Qualifications by vetting status</h2>
<div id="qualification-bars"></div>
</section>
<section id="customers" aria-labelledby="customers-heading">
<h2 id="customers-heading">Customers who cannot transact</h2>
<p class="note">MCA not accepted: orders for these customers fail until they accept it.
<a id="csv-not-accepted" href="/exports/customers.csv?mcaAccepted=false" download>Download these as CSV</a> ·
<a id="csv-all" href="/exports/customers.csv" download>the whole customer base as CSV</a></p>
<div class="scroll">
<table id="not-accepted">
<caption class="visually-hidden">Customers whose MCA is not accepted, by company name</caption>
<thead><tr><th scope="col">Customer</th><th scope="col">Domain</th><th scope="col">Relationship</th><th scope="col">Signed directly</th><th scope="col">Synced</th></tr></thead>
<tbody></tbody>
</table>
</div>
<nav aria-label="Pages of customers who cannot transact">
<button type="button" id="previous" disabled>Previous</button>
<span id="page-number">Page 1</span>
<button type="button" id="next" disabled>Next</button>
</nav>
</section>
<section id="latest" aria-labelledby="changes-heading">
<h2 id="changes-heading">Latest changes</h2>
<p class="note" id="live-state" role="status"><span class="live"></span>Connecting…</p>
<ol id="changes" aria-label="Changes, newest first"></ol>
</section>
</main>
<script>${script}</script>
</body>
</html>
`;
}
