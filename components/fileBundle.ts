/** Files sent to a host on standard input: one line each, `path mode owner base64`, so secrets never touch a command line. */

export interface HostFile { path: string; mode: string; owner: string; content: string }

export function encodeBundle(files: HostFile[]): string {
    return files.map((f) => {
        if (!/^\/[A-Za-z0-9._/-]+$/.test(f.path) || !/^[0-7]{3,4}$/.test(f.mode) || !/^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/.test(f.owner)) {
            throw new Error(`cannot bundle ${f.path} (${f.mode} ${f.owner})`);
        }
        return `${f.path} ${f.mode} ${f.owner} ${Buffer.from(f.content, "utf8").toString("base64")}\n`;
    }).join("");
}
