//! The results of a `compare` run and their three forms: a Markdown report (table, targets,
//! system calls by name), JSON, and an SVG bar chart of the ratios.

use std::fmt::Write as _;

use crate::ops::{Op, Who};

/// One contender's figures for one row.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    /// Nanoseconds per operation of every repeat, in the order measured.
    pub samples: Vec<f64>,
    /// System calls per operation (all of them), when counted.
    pub syscalls: Option<f64>,
    /// System calls per operation by name, largest first, when counted.
    pub by_call: Vec<(String, f64)>,
    /// User-space instructions per operation (callgrind), when counted.
    pub instructions: Option<f64>,
}

impl Cell {
    /// The median of the samples, `None` when the contender did not run.
    pub fn median(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        let m = s.len() / 2;
        Some(if s.len() % 2 == 1 {
            s[m]
        } else {
            (s[m - 1] + s[m]) / 2.0
        })
    }
}

/// One operation on one directory.
#[derive(Clone, Debug)]
pub struct Row {
    /// The operation.
    pub op: Op,
    /// The directory, e.g. `/tmp`, or `-` when the directory does not matter.
    pub dir: String,
    /// Its file system type, e.g. `ext4`, `tmpfs`.
    pub fs: String,
    /// The figures, in the order of [`Who::ALL`].
    pub cells: [Cell; 6],
    /// Why a contender has no figures, in the order of [`Who::ALL`].
    pub missing: [Option<String>; 6],
}

impl Row {
    /// The cell of `who`.
    pub fn cell(&self, who: Who) -> &Cell {
        &self.cells[index(who)]
    }

    /// Median of `who` divided by the median of `base`.
    pub fn ratio(&self, who: Who, base: Who) -> Option<f64> {
        Some(self.cell(who).median()? / self.cell(base).median()?)
    }

    /// Instructions of `who` divided by those of `base`.
    pub fn instructions_ratio(&self, who: Who, base: Who) -> Option<f64> {
        Some(self.cell(who).instructions? / self.cell(base).instructions?)
    }

    fn where_(&self) -> String {
        if self.fs.is_empty() {
            self.dir.clone()
        } else {
            format!("{} ({})", self.dir, self.fs)
        }
    }
}

/// The position of `who` in [`Who::ALL`].
pub fn index(who: Who) -> usize {
    Who::ALL.iter().position(|w| *w == who).unwrap_or(0)
}

/// Everything one run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// `(what, value)` lines about the machine and the run, in order.
    pub machine: Vec<(String, String)>,
    /// The rows, in table order.
    pub rows: Vec<Row>,
}

/// `12,345` for large figures, one decimal for small ones.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 100.0 {
        return format!("{ns:.1}");
    }
    let digits = format!("{:.0}", ns);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 100.0 => format!("{r:.0}x"),
        Some(r) if r >= 10.0 => format!("{r:.1}x"),
        Some(r) => format!("{r:.2}x"),
        None => "-".into(),
    }
}

fn fmt_calls(c: Option<f64>) -> String {
    match c {
        Some(c) if (c - c.round()).abs() < 0.005 => format!("{c:.0}"),
        Some(c) if c >= 100.0 => format!("{c:.0}"),
        Some(c) => format!("{c:.2}"),
        None => "-".into(),
    }
}

/// One performance target of the other issues and how this run scores it.
#[derive(Clone, Debug)]
pub struct Target {
    /// The issue it comes from.
    pub issue: u32,
    /// The target, in words.
    pub what: String,
    /// The figure of this run.
    pub figure: String,
    /// Met, missed, or `None` when this run has no figure for it.
    pub met: Option<bool>,
}

fn find(rows: &[Row], op: Op) -> impl Iterator<Item = &Row> {
    rows.iter().filter(move |r| r.op == op)
}

fn ratio_target(out: &mut Vec<Target>, issue: u32, row: &Row, base: Who, limit: f64, what: &str) {
    let r = row.ratio(Who::Tempkit, base);
    out.push(Target {
        issue,
        what: format!("{} on {}: {what}", row.op.title(), row.where_()),
        figure: r.map_or("not measured".into(), |r| format!("{r:.3}x")),
        met: r.map(|r| r <= limit),
    });
}

fn instructions_target(
    out: &mut Vec<Target>,
    issue: u32,
    row: &Row,
    base: Who,
    limit: f64,
    what: &str,
) {
    let r = row.instructions_ratio(Who::Tempkit, base);
    out.push(Target {
        issue,
        what: format!("{} on {}: {what}", row.op.title(), row.where_()),
        figure: match (r, row.cell(Who::Tempkit).instructions) {
            (Some(r), Some(n)) => format!("{r:.3}x ({} instructions)", fmt_ns(n)),
            _ => "not counted".into(),
        },
        met: r.map(|r| r <= limit),
    });
}

fn calls_target(out: &mut Vec<Target>, issue: u32, row: &Row, want: f64, what: &str) {
    let c = row.cell(Who::Tempkit);
    let figure = match c.syscalls {
        Some(n) => format!("{} ({})", fmt_calls(Some(n)), by_call_text(c)),
        None => "not counted".into(),
    };
    out.push(Target {
        issue,
        what: format!("{} on {}: {what}", row.op.title(), row.where_()),
        figure,
        met: c.syscalls.map(|n| (n - want).abs() < 0.05),
    });
}

/// The targets of issues 2 to 5, 12 and 15, scored against `rows`.
pub fn targets(rows: &[Row]) -> Vec<Target> {
    let mut t = Vec::new();
    for row in find(rows, Op::MkstempUnlink) {
        ratio_target(
            &mut t,
            2,
            row,
            Who::Floor,
            1.10,
            "at most 1.10x the raw calls",
        );
    }
    for row in find(rows, Op::MkstempUnlink) {
        let c = row.cell(Who::Tempkit);
        let openat = c
            .by_call
            .iter()
            .filter(|(name, _)| name.starts_with("open"))
            .map(|(_, n)| n)
            .sum::<f64>();
        let ok = c
            .syscalls
            .map(|all| (openat - 1.0).abs() < 0.05 && (all - 3.0).abs() < 0.05);
        t.push(Target {
            issue: 2,
            what: format!(
                "mkstemp on {}: one openat per file, no other call per name (+ the caller's close and unlink)",
                row.where_()
            ),
            figure: match c.syscalls {
                Some(_) => by_call_text(c),
                None => "not counted".into(),
            },
            met: ok,
        });
    }
    for row in find(rows, Op::TemporaryFile) {
        ratio_target(
            &mut t,
            3,
            row,
            Who::Tempfile,
            1.03,
            "at most 1.03x tempfile::tempfile()",
        );
        ratio_target(
            &mut t,
            3,
            row,
            Who::Floor,
            1.10,
            "at most 1.10x open(O_TMPFILE) + close",
        );
        calls_target(&mut t, 3, row, 2.0, "exactly 2 system calls");
    }
    for row in find(rows, Op::NamedTemporaryFile) {
        ratio_target(
            &mut t,
            3,
            row,
            Who::Tempfile,
            1.03,
            "at most 1.03x NamedTempFile",
        );
        ratio_target(
            &mut t,
            3,
            row,
            Who::Floor,
            1.10,
            "at most 1.10x open + unlink + close",
        );
        calls_target(&mut t, 3, row, 3.0, "exactly 3 system calls");
    }
    for row in find(rows, Op::TempDirEmpty).filter(|r| r.fs == "tmpfs") {
        ratio_target(
            &mut t,
            4,
            row,
            Who::Tempfile,
            0.8,
            "at most 0.8x tempfile::TempDir",
        );
        calls_target(&mut t, 4, row, 2.0, "2 system calls (mkdir, rmdir)");
    }
    for row in find(rows, Op::RemoveTree) {
        ratio_target(
            &mut t,
            4,
            row,
            Who::Floor,
            1.0,
            "at most 1.0x std::fs::remove_dir_all",
        );
    }
    for row in find(rows, Op::SpooledMemory) {
        ratio_target(
            &mut t,
            5,
            row,
            Who::Floor,
            1.0 / 0.9,
            "at least 0.9x the throughput of Vec<u8> (time at most 1.111x)",
        );
        ratio_target(
            &mut t,
            5,
            row,
            Who::Tempfile,
            1.0,
            "at least 1.0x tempfile::SpooledTempFile",
        );
    }
    for row in find(rows, Op::Rollover) {
        ratio_target(
            &mut t,
            5,
            row,
            Who::Floor,
            1.2,
            "at most 1.2x writing 1 MiB to a fresh O_TMPFILE file",
        );
    }
    for row in find(rows, Op::RemoveTree) {
        let (limit, what) = if row.fs == "tmpfs" {
            (
                0.65,
                "at most 0.65x std::fs::remove_dir_all (parallel removal)",
            )
        } else {
            (1.02, "at most 1.02x std::fs::remove_dir_all")
        };
        ratio_target(&mut t, 15, row, Who::Floor, limit, what);
    }
    for row in find(rows, Op::GettempdirFresh) {
        ratio_target(
            &mut t,
            15,
            row,
            Who::Tempfile,
            1.05,
            "at most 1.05x tempfile::env::temp_dir()",
        );
    }
    for row in find(rows, Op::TemporaryFile) {
        instructions_target(
            &mut t,
            15,
            row,
            Who::Tempfile,
            1.1,
            "user-space instructions at most 1.1x tempfile::tempfile_in",
        );
    }
    for row in find(rows, Op::NamedTemporaryFile) {
        instructions_target(
            &mut t,
            15,
            row,
            Who::Tempfile,
            1.1,
            "user-space instructions at most 1.1x NamedTempFile::new_in",
        );
    }
    for row in find(rows, Op::MkstempUnlink) {
        let named = find(rows, Op::NamedTemporaryFile)
            .find(|r| r.dir == row.dir)
            .and_then(|r| r.cell(Who::Tempkit).instructions);
        let mine = row.cell(Who::Tempkit).instructions;
        t.push(Target {
            issue: 15,
            what: format!(
                "mkstemp + close + unlink on {}: user-space instructions no more than tempkit's NamedTemporaryFile new + drop",
                row.where_()
            ),
            figure: match (mine, named) {
                (Some(m), Some(n)) => format!("{} against {}", fmt_ns(m), fmt_ns(n)),
                _ => "not counted".into(),
            },
            met: mine.zip(named).map(|(m, n)| m <= n),
        });
    }
    for row in find(rows, Op::WriteAtomicDurable) {
        let what = "at most 1.05x the same sequence by hand";
        ratio_target(&mut t, 12, row, Who::Floor, 1.05, what);
        let what = "not slower than the atomic-write-file crate";
        ratio_target(&mut t, 12, row, Who::AtomicWriteFile, 1.0, what);
        let what = "not slower than tempfile + sync_all + persist + directory sync_all";
        ratio_target(&mut t, 12, row, Who::Tempfile, 1.0, what);
        let (ours, floor) = (row.cell(Who::Tempkit), row.cell(Who::Floor));
        t.push(Target {
            issue: 12,
            what: format!(
                "{} on {}: no more system calls than the floor",
                row.op.title(),
                row.where_()
            ),
            figure: match (ours.syscalls, floor.syscalls) {
                (Some(a), Some(b)) => format!("{} vs {}", fmt_calls(Some(a)), fmt_calls(Some(b))),
                _ => "not counted".into(),
            },
            met: match (ours.syscalls, floor.syscalls) {
                (Some(a), Some(b)) => Some(a <= b + 0.05),
                _ => None,
            },
        });
    }
    for op in [Op::AsyncNamed1000, Op::AsyncDirDrop, Op::AsyncDirRemoved] {
        for row in find(rows, op) {
            let what = "ahead of spawn_blocking around the tempfile crate";
            ratio_target(&mut t, 25, row, Who::Tempfile, 1.0, what);
            let what = "ahead of the async-tempfile crate";
            ratio_target(&mut t, 25, row, Who::AsyncTempfile, 1.0, what);
        }
    }
    for row in find(rows, Op::WriteAtomicOnly) {
        let what = "at most 1.05x NamedTempFile::new_in + persist";
        ratio_target(&mut t, 12, row, Who::Tempfile, 1.05, what);
    }
    t
}

fn by_call_text(c: &Cell) -> String {
    let parts: Vec<String> = c
        .by_call
        .iter()
        .map(|(name, n)| format!("{name} {}", fmt_calls(Some(*n))))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// The Markdown report: machine, results table, targets, system calls by name, and what each
/// contender calls.
pub fn markdown(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| | |\n|---|---|");
    for (k, v) in &report.machine {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(
        s,
        "\n#### Results\n\nns/op is the median of the repeats; the ratios divide medians \
         (below 1 is faster); syscalls/op is counted with `strace -f -c`; instr/op are the \
         user-space instructions per operation counted by `valgrind --tool=callgrind` \
         (exact, whatever the load; the fresh process counts the whole child process).\n"
    );
    let _ = writeln!(
        s,
        "| operation | dir | contender | ns/op | vs tempfile crate | vs floor | syscalls/op | instr/op |"
    );
    let _ = writeln!(s, "|---|---|---|--:|--:|--:|--:|--:|");
    for row in &report.rows {
        let mut first = true;
        for who in Who::ALL {
            if !who.takes_part(row.op) {
                continue;
            }
            let c = row.cell(who);
            let (op, dir) = if first {
                (row.op.title().to_string(), row.where_())
            } else {
                (String::new(), String::new())
            };
            first = false;
            let ns = match (c.median(), &row.missing[index(who)]) {
                (Some(m), _) => fmt_ns(m),
                (None, Some(why)) => format!("({why})"),
                (None, None) => "-".into(),
            };
            let label = if who == Who::Tempkit {
                format!("**{}**", who.label())
            } else {
                who.label().to_string()
            };
            let _ = writeln!(
                s,
                "| {op} | {dir} | {label} | {ns} | {} | {} | {} | {} |",
                fmt_ratio(row.ratio(who, Who::Tempfile)),
                fmt_ratio(row.ratio(who, Who::Floor)),
                fmt_calls(c.syscalls),
                c.instructions.map_or("-".into(), fmt_ns),
            );
        }
    }
    let _ = writeln!(s, "\n#### Targets of issues 2 to 5, 12 and 15\n");
    let _ = writeln!(s, "| issue | target | this run | met |\n|---|---|---|---|");
    for t in targets(&report.rows) {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        let _ = writeln!(s, "| {} | {} | {} | {met} |", t.issue, t.what, t.figure);
    }
    let _ = writeln!(
        s,
        "\n#### System calls per operation, by name\n\n| operation | dir | contender | calls |\n|---|---|---|---|"
    );
    for row in &report.rows {
        for who in Who::ALL {
            let c = row.cell(who);
            if c.syscalls.is_none() || (who == Who::Python && c.by_call.len() > 12) {
                continue;
            }
            let mut text = by_call_text(c);
            if c.by_call.len() > 12 {
                text = format!(
                    "{} kinds, {} in all",
                    c.by_call.len(),
                    fmt_calls(c.syscalls)
                );
            }
            let _ = writeln!(
                s,
                "| {} | {} | {} | {text} |",
                row.op.title(),
                row.where_(),
                who.label()
            );
        }
    }
    let _ = writeln!(
        s,
        "\n#### What each contender calls\n\n| operation | tempkit | tempfile crate | floor | CPython | atomic-write-file crate | async-tempfile crate |\n|---|---|---|---|---|---|---|"
    );
    for op in Op::ALL {
        let cells: Vec<String> = Who::ALL
            .iter()
            .map(|w| op.calls(*w).replace('|', "\\|"))
            .collect();
        let _ = writeln!(s, "| {} | {} |", op.title(), cells.join(" | "));
    }
    s
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => "null".into(),
    }
}

/// The whole run as JSON: machine facts, and per row and contender the samples, median,
/// ratios and system calls.
pub fn json(report: &Report) -> String {
    let mut s = String::from("{\n  \"machine\": {");
    for (i, (k, v)) in report.machine.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(s, "{sep}\n    {}: {}", json_str(k), json_str(v));
    }
    s.push_str("\n  },\n  \"rows\": [");
    for (i, row) in report.rows.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            s,
            "{sep}\n    {{\"op\": {}, \"title\": {}, \"dir\": {}, \"fs\": {}, \"contenders\": {{",
            json_str(row.op.id()),
            json_str(row.op.title()),
            json_str(&row.dir),
            json_str(&row.fs)
        );
        for (j, who) in Who::ALL.iter().enumerate() {
            let c = row.cell(*who);
            let sep = if j == 0 { "" } else { "," };
            let samples: Vec<String> = c.samples.iter().map(|x| format!("{x:.1}")).collect();
            let calls: Vec<String> = c
                .by_call
                .iter()
                .map(|(k, v)| format!("{}: {v:.3}", json_str(k)))
                .collect();
            let _ = write!(
                s,
                "{sep}\n      {}: {{\"calls\": {}, \"median_ns\": {}, \"samples_ns\": [{}], \
                 \"vs_tempfile\": {}, \"vs_floor\": {}, \"syscalls_per_op\": {}, \
                 \"syscalls_by_name\": {{{}}}, \"instructions_per_op\": {}, \"missing\": {}}}",
                json_str(who.id()),
                json_str(row.op.calls(*who)),
                json_num(c.median()),
                samples.join(", "),
                json_num(row.ratio(*who, Who::Tempfile)),
                json_num(row.ratio(*who, Who::Floor)),
                json_num(c.syscalls),
                calls.join(", "),
                json_num(c.instructions),
                row.missing[j].as_deref().map_or("null".into(), json_str),
            );
        }
        s.push_str("\n    }}");
    }
    s.push_str("\n  ]\n}\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart, one group per row: each contender's time as a ratio to the
/// `tempfile` crate (the line at 1x), on a logarithmic axis from 0.1x to 100x (bars beyond
/// are cut there and carry their figure).
pub fn svg(report: &Report) -> String {
    const LEFT: f64 = 480.0;
    const WIDTH: f64 = 520.0;
    const BAR: f64 = 9.0;
    const TOP: f64 = 70.0;
    let shown = [Who::Tempkit, Who::Floor, Who::Python];
    let colors = ["#1b7837", "#999999", "#3465a4"];
    let (lo, hi) = (0.1f64.log10(), 100f64.log10());
    let x = |r: f64| LEFT + (r.clamp(0.1, 100.0).log10() - lo) / (hi - lo) * WIDTH;
    let group = BAR * shown.len() as f64 + 8.0;
    let height = TOP + group * report.rows.len() as f64 + 30.0;
    let total_w = LEFT + WIDTH + 80.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_w}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(
        s,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" \
         font-size=\"14\" font-weight=\"bold\">Time per operation relative to the tempfile \
         crate (log scale; left of 1x is faster)</text>"
    );
    for (i, who) in shown.iter().enumerate() {
        let lx = 10.0 + 150.0 * i as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"32\" width=\"12\" height=\"10\" fill=\"{}\"/><text x=\"{}\" \
             y=\"41\">{}</text>",
            colors[i],
            lx + 16.0,
            who.label()
        );
    }
    for tick in [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0] {
        let tx = x(tick);
        let stroke = if tick == 1.0 { "#000" } else { "#ddd" };
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{}\" x2=\"{tx:.1}\" y2=\"{}\" stroke=\"{stroke}\"/>\
             <text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{tick}x</text>",
            TOP - 8.0,
            height - 25.0,
            TOP - 12.0
        );
    }
    for (r, row) in report.rows.iter().enumerate() {
        let gy = TOP + group * r as f64;
        let label = if row.fs.is_empty() {
            row.op.title().to_string()
        } else {
            format!("{}: {}", row.op.title(), row.where_())
        };
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            gy + group / 2.0,
            xml(&label)
        );
        for (i, who) in shown.iter().enumerate() {
            let y = gy + BAR * i as f64;
            match row.ratio(*who, Who::Tempfile) {
                Some(ratio) => {
                    let (a, b) = (x(1.0).min(x(ratio)), x(1.0).max(x(ratio)));
                    let _ = writeln!(
                        s,
                        "<rect x=\"{a:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{}\" \
                         fill=\"{}\"><title>{}: {ratio:.3}x</title></rect><text x=\"{:.1}\" \
                         y=\"{:.1}\" font-size=\"8\">{}</text>",
                        (b - a).max(1.0),
                        BAR - 1.0,
                        colors[i],
                        who.label(),
                        b + 3.0,
                        y + BAR - 2.0,
                        fmt_ratio(Some(ratio))
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"8\" fill=\"#888\">{}: \
                         not measured</text>",
                        x(1.0) + 3.0,
                        y + BAR - 2.0,
                        who.label()
                    );
                }
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(op: Op, fs: &str, medians: [Option<f64>; 4]) -> Row {
        let mut cells: [Cell; 6] = Default::default();
        for (c, m) in cells.iter_mut().zip(medians) {
            c.samples = m.into_iter().collect();
        }
        Row {
            op,
            dir: "/x".into(),
            fs: fs.into(),
            cells,
            missing: Default::default(),
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let mut c = Cell::default();
        assert_eq!(c.median(), None);
        c.samples = vec![5.0, 1.0, 3.0];
        assert_eq!(c.median(), Some(3.0));
        c.samples = vec![4.0, 1.0, 3.0, 10.0];
        assert_eq!(c.median(), Some(3.5));
    }

    #[test]
    fn figures_are_grouped_by_thousands() {
        assert_eq!(fmt_ns(12.345), "12.3");
        assert_eq!(fmt_ns(1234.4), "1,234");
        assert_eq!(fmt_ns(1234567.0), "1,234,567");
    }

    #[test]
    fn targets_compare_tempkit_with_the_right_contender() {
        let rows = vec![
            row(
                Op::MkstempUnlink,
                "ext4",
                [Some(105.0), Some(90.0), Some(100.0), None],
            ),
            row(
                Op::TempDirEmpty,
                "tmpfs",
                [Some(90.0), Some(100.0), Some(80.0), None],
            ),
            row(
                Op::TempDirEmpty,
                "ext4",
                [Some(90.0), Some(100.0), Some(80.0), None],
            ),
        ];
        let t = targets(&rows);
        // mkstemp: 1.05x the floor is within 1.10x; its calls were not counted.
        assert_eq!(t[0].met, Some(true));
        assert_eq!(t[0].figure, "1.050x");
        assert_eq!(t[1].met, None);
        // The empty directory target is for tmpfs only: 0.9x the tempfile crate misses 0.8x.
        let dir: Vec<&Target> = t.iter().filter(|t| t.issue == 4).collect();
        assert_eq!(dir.len(), 2);
        assert_eq!(dir[0].met, Some(false));
    }

    #[test]
    fn json_escapes_and_writes_nulls() {
        let report = Report {
            machine: vec![("cpu \"x\"".into(), "a\\b".into())],
            rows: vec![row(
                Op::GettempdirCached,
                "",
                [Some(2.0), None, Some(1.0), None],
            )],
        };
        let j = json(&report);
        assert!(j.contains(r#""cpu \"x\"": "a\\b""#));
        assert!(j.contains(r#""vs_floor": 2"#));
        assert!(j.contains(r#""median_ns": null"#));
        assert_eq!(j.matches('{').count(), j.matches('}').count());
    }
}
