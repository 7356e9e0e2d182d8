// The bench's figures: every run's value per row, for our cluster and for the hand-made reference, summarised as
// min / median / max and a ratio of medians, printed as a Markdown table (the README quotes it as is).

export type Unit = "s" | "ms" | "writes/s" | "count" | "pass";
export type Side = "ours" | "reference";

export interface Row { name: string; unit: Unit; ours: number[]; reference: number[] }
export interface Summary { min: number; median: number; max: number }

export function summarise(values: number[]): Summary | undefined {
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

export class Results {
    readonly rows: Row[] = [];

    add(name: string, unit: Unit, side: Side, value: number): void {
        let row = this.rows.find((r) => r.name === name);
        if (!row) {
            row = { name, unit, ours: [], reference: [] };
            this.rows.push(row);
        }
        if (row.unit !== unit) throw new Error(`bench row "${name}" measured in ${row.unit} and ${unit}`);
        row[side].push(value);
    }
}

function format(value: number, unit: Unit): string {
    switch (unit) {
        case "s": return value.toFixed(2);
        case "ms": return value.toFixed(0);
        case "writes/s": return value.toFixed(0);
        case "count": return String(value);
        case "pass": return value ? "pass" : "FAIL";
    }
}

function cell(values: number[], unit: Unit): string {
    if (values.length === 0) return "";
    // Pass/fail has no median: say how many runs passed.
    if (unit === "pass") return `${values.filter(Boolean).length}/${values.length} pass`;
    const s = summarise(values)!;
    return values.length === 1 ? format(s.median, unit) : `${format(s.min, unit)} / ${format(s.median, unit)} / ${format(s.max, unit)}`;
}

function ratio(row: Row): string {
    if (row.unit === "pass" || row.reference.length === 0 || row.ours.length === 0) return "";
    const ours = summarise(row.ours)!.median;
    const reference = summarise(row.reference)!.median;
    return reference === 0 ? "" : (ours / reference).toFixed(2);
}

/** Markdown table: one line per row; values are min / median / max over the runs (one value when one run). */
export function table(rows: Row[]): string {
    const lines = [
        "| scenario | unit | ours (min / median / max) | reference (min / median / max) | ours / reference (medians) |",
        "|---|---|---|---|---|",
        ...rows.map((r) => `| ${r.name} | ${r.unit === "pass" ? "" : r.unit} | ${cell(r.ours, r.unit)} | ${cell(r.reference, r.unit)} | ${ratio(r)} |`),
    ];
    return lines.join("\n");
}

export function summaries(rows: Row[]): Array<Row & { summary: { ours?: Summary; reference?: Summary; ratio?: number } }> {
    return rows.map((r) => {
        const ours = summarise(r.ours);
        const reference = summarise(r.reference);
        const hasRatio = r.unit !== "pass" && ours && reference && reference.median !== 0;
        return { ...r, summary: { ours, reference, ratio: hasRatio ? ours.median / reference.median : undefined } };
    });
}
