/**
 * The live dashboard (SPEC §10 `GET /`): one self-contained page, no CDN. It
 * polls the JSON endpoints every second and renders server status, sessions
 * with their participants and live bitrates, peers, shares and files.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtp-reflector</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d232b; --muted:#67707c; --ok:#1a7f37; --bad:#c62828; --line:#e3e6ea; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 20px; background:#20262e; color:#fff; }
  header h1 { margin:0; font-size:18px; font-weight:600; }
  header .meta { color:#b8c0ca; font-size:13px; }
  #conn { margin-left:auto; font-size:13px; }
  main { padding:16px 20px; display:grid; gap:16px; }
  .tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; }
  .tile { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:10px 14px; }
  .tile .v { font-size:24px; font-weight:600; }
  .tile .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:12px 14px; }
  section h2 { margin:0 0 8px; font-size:15px; }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); font-variant-numeric:tabular-nums; }
  th { color:var(--muted); font-weight:500; font-size:12px; }
  .session { margin-bottom:12px; }
  .session h3 { margin:6px 0; font-size:14px; }
  .up { color:var(--ok); font-weight:600; } .down { color:var(--bad); font-weight:600; }
  .empty { color:var(--muted); font-style:italic; }
  code { font-size:12px; }
  .scroll { overflow-x:auto; -webkit-overflow-scrolling:touch; }
  main > *, section, .session { min-width:0; }
  header .meta { overflow-wrap:anywhere; }
  /* Phone width: tighter spacing, header wraps, secondary columns hidden, tables scroll sideways. */
  @media (max-width: 640px) {
    header { flex-wrap:wrap; gap:4px 12px; padding:10px 12px; }
    #conn { margin-left:0; }
    main { padding:10px; gap:10px; }
    .tiles { grid-template-columns:repeat(2, 1fr); gap:8px; }
    .tile .v { font-size:18px; }
    section { padding:8px 10px; }
    th, td { padding:3px 5px; }
    body { font-size:13px; }
    .wide { display:none; }
  }
</style>
</head>
<body>
<header><h1>rtp-reflector</h1><span class="meta" id="ident">…</span><span id="conn">connecting…</span></header>
<main>
  <div class="tiles" id="tiles"></div>
  <section><h2>Sessions</h2><div id="sessions" data-testid="sessions"><p class="empty">No sessions.</p></div></section>
  <section><h2>Peer reflectors</h2><div id="peers"><p class="empty">No peers configured.</p></div></section>
  <section><h2>Application shares and files</h2><div id="shares"><p class="empty">None.</p></div></section>
  <section><h2>Recent events</h2><div id="events"><p class="empty">None yet.</p></div></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function esc(v) { return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&":"&amp;", "<":"&lt;", ">":"&gt;", '"':"&quot;", "'":"&#39;" }[c])); }
function bits(b) { if (!b) return "0 bit/s"; if (b >= 1e6) return (b / 1e6).toFixed(2) + " Mbit/s"; if (b >= 1e3) return (b / 1e3).toFixed(1) + " kbit/s"; return Math.round(b) + " bit/s"; }
function ago(iso) { if (!iso) return "–"; const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 60 ? s + " s ago" : Math.round(s / 60) + " min ago"; }
function dur(s) { const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60); return (h ? h + " h " : "") + m + " min"; }
function tile(k, v) { return '<div class="tile"><div class="v">' + esc(v) + '</div><div class="k">' + esc(k) + '</div></div>'; }
async function get(path) { const r = await fetch(path, { cache: "no-store" }); if (!r.ok) throw new Error(path + " " + r.status); return r.json(); }
function qdir(d) { return d ? "MOS " + esc(d.mos) + " · loss " + esc(d.lossPct) + " % · jitter " + esc(d.jitterMs) + " ms" : "–"; }
function quality(q) {
  if (!q) return '<span class="empty">no RTCP yet</span>';
  return "sent: " + qdir(q.sent) + "<br>received: " + qdir(q.received) + (q.rttMs !== undefined ? "<br>RTT " + esc(q.rttMs) + " ms" : "");
}
function renderSessions(list) {
  if (!list.length) return '<p class="empty">No sessions.</p>';
  return list.map((s) => {
    const remote = Object.entries(s.remoteCounts || {}).map(([k, n]) => esc(k) + ": " + n).join(", ");
    const rows = s.participants.map((p) => {
      const media = p.streams.map((st) => esc(st.medium) + " " + esc(st.codecs.join("/")) + (st.rtpSource ? " @" + esc(st.rtpSource) : "")).join("<br>");
      return '<tr data-participant="' + esc(p.id) + '"><td>' + esc(p.displayName || p.user || p.sdesName || p.cname || "–") + '</td><td class="wide"><code>' + esc(p.id) + '</code></td><td>' + esc(p.mode) +
        '</td><td class="wide">' + media + '</td><td>' + bits(p.rate && p.rate.inBitsPerS) + '</td><td>' + bits(p.rate && p.rate.outBitsPerS) +
        '</td><td data-quality>' + quality(p.quality) + '</td><td class="wide">' + ago(p.joinedAt) + '</td><td class="wide">' + ago(p.lastRtcpAt) + '</td></tr>';
    }).join("");
    return '<div class="session" data-session="' + esc(s.name) + '"><h3>' + esc(s.name) + ' <span class="meta">(' + s.participants.length + ' here' +
      (remote ? "; at peers: " + remote : "") + ')</span></h3>' +
      (rows ? '<div class="scroll"><table><thead><tr><th>Participant</th><th class="wide">Id</th><th>Mode</th><th class="wide">Media</th><th>In</th><th>Out</th><th>Call quality</th><th class="wide">Joined</th><th class="wide">Last RTCP</th></tr></thead><tbody>' + rows + '</tbody></table></div>' : '<p class="empty">Participants only at peer reflectors.</p>') +
      '</div>';
  }).join("");
}
function renderPeers(list) {
  if (!list.length) return '<p class="empty">No peers configured.</p>';
  return '<div class="scroll"><table><thead><tr><th>Peer</th><th>Id</th><th>State</th><th>Last HELLO</th><th>Relay in</th><th>Relay out</th><th>Sessions</th></tr></thead><tbody>' +
    list.map((p) => '<tr><td>' + esc(p.key) + '</td><td>' + esc(p.id || "–") + '</td><td class="' + (p.up ? "up" : "down") + '">' + (p.up ? "up" : "down") +
      '</td><td>' + (p.lastHelloAt ? ago(new Date(p.lastHelloAt).toISOString()) : "never") + '</td><td>' + p.relayPacketsIn + '</td><td>' + p.relayPacketsOut +
      '</td><td>' + esc(Object.entries(p.sessions || {}).map(([k, n]) => k + "=" + n).join(", ")) + '</td></tr>').join("") + '</tbody></table></div>';
}
function bytes(n) { n = Number(n) || 0; if (n >= 1048576) return (n / 1048576).toFixed(1) + " MiB"; if (n >= 1024) return (n / 1024).toFixed(1) + " KiB"; return n + " B"; }
function until(ms) { if (!ms) return "–"; const s = Math.round((ms - Date.now()) / 1000); return s <= 0 ? "now" : s < 3600 ? "in " + Math.ceil(s / 60) + " min" : "in " + (s / 3600).toFixed(1) + " h"; }
function renderShares(shares, files) {
  if (!shares.length && !files.length) return '<p class="empty">None.</p>';
  let html = "";
  if (shares.length) {
    html += '<div class="scroll"><table data-testid="shares"><thead><tr><th>Share</th><th>Session</th><th>Sharer</th><th>Viewers</th><th>Bytes in / out</th><th class="wide">Origin</th><th class="wide">Since</th></tr></thead><tbody>' +
      shares.map((s) => '<tr data-share="' + esc(s.id) + '"><td>' + esc(s.title || ("#" + s.id)) + (s.live === false ? ' <span class="empty">(waiting)</span>' : "") + '</td><td>' + esc(s.session) + '</td><td>' + esc(s.sharer) +
        '</td><td>' + esc(s.viewers) + '</td><td>' + bytes(s.bytesIn) + " / " + bytes(s.bytesOut) + '</td><td class="wide">' + esc(s.origin === "peer" ? "peer " + (s.peer || "") : "here") +
        '</td><td class="wide">' + (s.createdAt ? ago(new Date(s.createdAt).toISOString()) : "–") + '</td></tr>').join("") + '</tbody></table></div>';
  }
  if (files.length) {
    html += '<div class="scroll"><table data-testid="files"><thead><tr><th>File</th><th>Session</th><th>Sender</th><th>Size</th><th>State</th><th>Downloads</th><th>Expires</th></tr></thead><tbody>' +
      files.map((f) => '<tr data-file="' + esc(f.id) + '"><td>' + esc(f.name) + '</td><td>' + esc(f.session) + '</td><td>' + esc(f.sender) + '</td><td>' + bytes(f.size) +
        '</td><td>' + esc(f.state) + '</td><td>' + esc(f.downloads) + '</td><td>' + until(f.expiresAt) + '</td></tr>').join("") + '</tbody></table></div>';
  }
  return html;
}
function renderEvents(list) {
  if (!list.length) return '<p class="empty">None yet.</p>';
  return '<div class="scroll"><table data-testid="events"><thead><tr><th>Time</th><th>Event</th><th>Details</th></tr></thead><tbody>' + list.slice(0, 25).map((e) => {
    const d = Object.entries(e).filter(([k, v]) => k !== "at" && k !== "event" && v !== null).map(([k, v]) => esc(k) + "=" + esc(v)).join(" ");
    return '<tr data-event="' + esc(e.event) + '"><td>' + esc(new Date(e.at).toLocaleTimeString()) + '</td><td>' + esc(e.event) + '</td><td style="word-break:break-word">' + d + '</td></tr>';
  }).join("") + '</tbody></table></div>';
}
async function refresh() {
  try {
    const [st, sessions, peers, shares, files, events] = await Promise.all([get("/api/status"), get("/api/sessions"), get("/api/peers"), get("/api/shares"), get("/api/files"), get("/api/events")]);
    $("ident").textContent = st.reflectorId + " · " + st.publicAddress + " · up " + dur(st.uptimeS);
    $("tiles").innerHTML = tile("sessions", st.sessions) + tile("participants", st.participants) + tile("peers up", st.peers.up + " / " + st.peers.total) +
      tile("shares", st.shares) + tile("files", st.files) + tile("memory", Math.round(st.memory.rssBytes / 1048576) + " MiB");
    $("sessions").innerHTML = renderSessions(sessions);
    $("peers").innerHTML = renderPeers(peers);
    $("shares").innerHTML = renderShares(shares, files);
    $("events").innerHTML = renderEvents(events);
    $("conn").textContent = "live · " + new Date().toLocaleTimeString();
    $("conn").className = "up";
  } catch (e) {
    $("conn").textContent = "disconnected";
    $("conn").className = "down";
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
