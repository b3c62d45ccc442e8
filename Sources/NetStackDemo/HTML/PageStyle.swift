// The page's style sheet: system fonts only, a two-column layout that
// becomes one column on a narrow (phone) screen. Its SHA-256 goes into the CSP.

/// The page's CSS, inlined and allowed by its hash.
enum PageStyle {
    /// The style sheet's text, exactly as it appears between `<style>` and `</style>`.
    static let source = #"""
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfd; --muted: #666; --line: #bbb; --accent: #0b63c5; --warn: #c0392b; --retx: #d17a00; --hl: #ffe066; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --bg: #161616; --muted: #9a9a9a; --line: #555; --accent: #5aa9ff; --hl: #7a6300; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 8px 16px; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 6px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; padding: 12px 16px; }
section { border: 1px solid var(--line); border-radius: 6px; padding: 8px; min-width: 0; }
#journey, #frames, #signal { grid-column: 1 / -1; }
.keys { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
#net { width: 100%; max-height: 260px; }
.cable { stroke: var(--line); stroke-width: 4; }
.cable.active { stroke: var(--accent); stroke-width: 8; }
.node rect, .node circle { fill: var(--bg); stroke: var(--fg); stroke-width: 1.5; }
.node text { fill: var(--fg); text-anchor: middle; font-size: 13px; }
.node text.small { font-size: 10px; fill: var(--muted); }
#packet { fill: var(--accent); }
.controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
button { font: inherit; padding: 4px 10px; }
#hop-what { font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }
#narration { font-family: ui-monospace, monospace; font-size: 12px; margin: 4px 0; padding-left: 0; list-style: none; white-space: pre-wrap; overflow-wrap: anywhere; }
#step-title { font-weight: bold; }
.listbox { max-height: 260px; overflow: auto; border: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; font-family: ui-monospace, monospace; font-size: 12px; }
th { position: sticky; top: 0; background: var(--bg); text-align: left; border-bottom: 1px solid var(--line); }
td, th { padding: 1px 6px; white-space: nowrap; }
tr { cursor: pointer; }
tr.selected { background: var(--accent); color: #fff; }
tr:focus { outline: 2px solid var(--accent); }
.split { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; margin-top: 8px; }
#tree { font-family: ui-monospace, monospace; font-size: 12px; max-height: 320px; overflow: auto; }
#tree ul { margin: 0; padding-left: 14px; }
.field { cursor: pointer; }
.field.selected, .field:focus { background: var(--hl); color: var(--fg); outline: none; }
#hex { font-family: ui-monospace, monospace; font-size: 12px; max-height: 320px; overflow: auto; margin: 0; }
.hexrow { white-space: pre; }
.b { cursor: pointer; }
.b.hl { background: var(--hl); }
.off, .ascii { color: var(--muted); }
#ladder-box { max-height: 480px; overflow: auto; }
#ladder-svg { width: 100%; min-width: 420px; }
.lifeline { stroke: var(--fg); stroke-width: 2; }
.who { text-anchor: middle; font-size: 12px; font-weight: bold; fill: var(--fg); }
.arrow line { stroke: var(--fg); stroke-width: 1.2; }
.arrow path { fill: var(--fg); }
.arrow text.label { text-anchor: middle; font-size: 9px; fill: var(--fg); font-family: ui-monospace, monospace; }
.arrow text.time { font-size: 8px; fill: var(--muted); }
.arrow { cursor: pointer; }
.arrow:focus, .arrow.selected { outline: none; }
.arrow.selected line, .arrow:focus line { stroke: var(--accent); stroke-width: 3; }
.arrow.lost line { stroke: var(--warn); stroke-dasharray: 4 3; }
.arrow.lost text { fill: var(--warn); }
.arrow.retrans line { stroke: var(--retx); stroke-width: 2; }
.arrow.retrans text.label { fill: var(--retx); font-weight: bold; }
.cross { text-anchor: middle; font-size: 14px; }
#tables-body pre { font-size: 11px; overflow: auto; margin: 4px 0; }
#signal-box { overflow-x: auto; }
#signal-svg { min-width: 900px; width: 100%; }
.wave { fill: none; stroke: var(--accent); stroke-width: 2; }
.bit { font-size: 10px; text-anchor: middle; fill: var(--fg); font-family: ui-monospace, monospace; }
.byte { font-size: 11px; text-anchor: middle; fill: var(--muted); font-family: ui-monospace, monospace; }
.sigfield { font-size: 11px; text-anchor: middle; fill: var(--fg); }
.byte-edge { stroke: var(--line); stroke-dasharray: 2 3; }
@media (max-width: 760px) {
  main, .split { grid-template-columns: minmax(0, 1fr); padding: 8px; }
  td:nth-child(3), td:nth-child(4), th:nth-child(3), th:nth-child(4) { display: none; }
}
"""#
}
