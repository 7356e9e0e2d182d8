// The Debian mirror this machine already uses, read from its apt sources, so the lab fetches from the same place.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

function sourceFiles(): string[] {
    const files = ["/etc/apt/sources.list"];
    const dir = "/etc/apt/sources.list.d";
    if (existsSync(dir)) {
        for (const f of readdirSync(dir).sort()) if (f.endsWith(".list") || f.endsWith(".sources")) files.push(join(dir, f));
    }
    return files.filter((f) => existsSync(f));
}

// URIs of the main Debian archive (path ending in /debian), in the order apt lists them; security mirrors end in
// /debian-security and third-party repositories have other paths, so neither matches.
function debianUris(text: string, deb822: boolean): string[] {
    const uris: string[] = [];
    for (const raw of text.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        const words = deb822 ? (/^URIs:/i.test(line) ? line.split(/\s+/).slice(1) : []) : /^deb\s/.test(line) ? line.replace(/\[[^\]]*\]/, "").split(/\s+/).slice(1, 2) : [];
        for (const w of words) if (/^https?:\/\/.+\/debian\/?$/.test(w)) uris.push(w.replace(/\/$/, ""));
    }
    return uris;
}

export function debianMirror(): string {
    for (const f of sourceFiles()) {
        const uris = debianUris(readFileSync(f, "utf8"), f.endsWith(".sources"));
        if (uris.length > 0) return uris[0];
    }
    throw new Error("no Debian mirror (a URI ending in /debian) found in /etc/apt/sources.list or /etc/apt/sources.list.d/");
}
