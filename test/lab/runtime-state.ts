// The lab runtime's memory between runs, as the engine's checkpoint holds it: every custom resource under its URN
// with the inputs it was last created or updated with, the outputs the provider returned, the options that matter
// when it is replaced or deleted, and what it depends on. Old versions of replaced resources wait in `pendingDeletes`
// until their delete has run (a failed delete is tried again on the next run). The file holds private keys (tls
// outputs, SSH connections): mode 600, in a directory that is created mode 700.

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Inputs } from "./runtime-inputs";

export interface StoredResource {
    urn: string;
    type: string;
    name: string;
    id: string;
    inputs: Inputs;
    outputs: Record<string, unknown>;
    /** URNs this resource depends on (dependsOn and inputs taken from other resources' outputs). */
    dependencies: string[];
    parent: string;
    protect: boolean;
    retainOnDelete: boolean;
    replacementTrigger?: unknown;
}

const VERSION = 2;

interface StateFile {
    version: number;
    resources: Record<string, StoredResource>;
    pendingDeletes: StoredResource[];
}

export class LabState {
    private writing: Promise<void> = Promise.resolve();

    private constructor(
        private readonly path: string,
        private readonly file: StateFile,
    ) {}

    static async load(path: string): Promise<LabState> {
        let text: string;
        try {
            text = await readFile(path, "utf8");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                return new LabState(path, { version: VERSION, resources: {}, pendingDeletes: [] });
            }
            throw err;
        }
        const file = JSON.parse(text) as StateFile;
        if (file?.version !== VERSION || typeof file.resources !== "object" || !Array.isArray(file.pendingDeletes)) {
            throw new Error(
                `${path} is not a lab state file of version ${VERSION} (an older lab runtime wrote it?): ` +
                    "remove the lab and its deployment (npm run lab -- down) and deploy again",
            );
        }
        return new LabState(path, file);
    }

    get(urn: string): StoredResource | undefined {
        return this.file.resources[urn];
    }

    resources(): StoredResource[] {
        return Object.values(this.file.resources);
    }

    pendingDeletes(): StoredResource[] {
        return [...this.file.pendingDeletes];
    }

    // Every change is saved at once, so what a run did before a later failure is known to the next run.
    put(resource: StoredResource): Promise<void> {
        this.file.resources[resource.urn] = resource;
        return this.save();
    }

    remove(urn: string): Promise<void> {
        delete this.file.resources[urn];
        return this.save();
    }

    addPendingDelete(resource: StoredResource): Promise<void> {
        this.file.pendingDeletes.push(resource);
        return this.save();
    }

    removePendingDelete(resource: StoredResource): Promise<void> {
        this.file.pendingDeletes = this.file.pendingDeletes.filter((r) => r !== resource);
        return this.save();
    }

    private save(): Promise<void> {
        // Writes are chained so concurrent changes never interleave; a failed write does not block later ones.
        this.writing = this.writing.catch(() => undefined).then(() => this.write());
        return this.writing;
    }

    private async write(): Promise<void> {
        await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
        const temporary = `${this.path}.${process.pid}.tmp`;
        await writeFile(temporary, JSON.stringify(this.file, null, 2) + "\n", { mode: 0o600 });
        await rename(temporary, this.path); // atomic: an interrupted run never leaves half a state file
    }
}
