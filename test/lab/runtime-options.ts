// What the engine knows about a resource besides its inputs: URN, parent, dependencies and the resource options that
// decide how it is replaced or deleted. Mocks do not pass these to newResource, but the SDK sends all of them in the
// RegisterResourceRequest it hands the mock monitor, just as it sends them to the engine. So the monitor's
// registerResource is wrapped to read them from that request before the mock runs. (Stack transformations also run
// under mocks and see `opts`, but not the dependencies that come from inputs taken from other resources' outputs.)

import * as pulumi from "@pulumi/pulumi";

export interface ObservedOptions {
    urn: string;
    parent: string;
    /** dependsOn (components expanded to their resources) and the resources whose outputs flow into the inputs */
    dependencies: string[];
    deleteBeforeReplace: boolean;
    replaceOnChanges: string[];
    ignoreChanges: string[];
    replacementTrigger?: unknown;
    protect: boolean;
    retainOnDelete: boolean;
}

// The parts of the SDK's mock monitor and its request that are read here (generated protobuf accessors).
interface RegisterResourceRequest {
    getType(): string;
    getName(): string;
    getCustom(): boolean;
    getParent(): string;
    getDependenciesList(): string[];
    getDeletebeforereplace(): boolean;
    getReplaceonchangesList(): string[];
    getIgnorechangesList(): string[];
    getReplacementTrigger(): { toJavaScript(): unknown } | undefined;
    getProtect(): boolean;
    getRetainondelete(): boolean;
    getDeletedwith(): string;
}
interface MockMonitor {
    registerResource(request: RegisterResourceRequest, callback: unknown): unknown;
    newUrn(parent: string, type: string, name: string): string;
}

export class ResourceOptionsLog {
    private readonly observed = new Map<string, ObservedOptions>();

    /** Call once, after setMocks and before the program runs. */
    static attach(): ResourceOptionsLog {
        const log = new ResourceOptionsLog();
        const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor | undefined;
        if (monitor === undefined || typeof monitor.newUrn !== "function") {
            throw new Error("ResourceOptionsLog.attach needs the SDK's mock monitor: call setMocks first");
        }
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (request, callback) => {
            // Components have no provider and nothing to diff: the SDK keeps their outputs.
            if (request.getCustom()) log.record(request, monitor.newUrn(request.getParent(), request.getType(), request.getName()));
            return register(request, callback);
        };
        return log;
    }

    /** The options of the resource being registered; mocks know a resource by type and name only. */
    take(type: string, name: string): ObservedOptions {
        const key = `${type}::${name}`;
        const options = this.observed.get(key);
        if (options === undefined) throw new Error(`lab runtime: no registration seen for ${key}`);
        return options;
    }

    private record(request: RegisterResourceRequest, urn: string): void {
        const key = `${request.getType()}::${request.getName()}`;
        // newResource finds options by type and name, so two resources under one key would get each other's.
        if (this.observed.has(key)) throw new Error(`lab runtime needs unique names per type: ${key} is taken`);
        if (request.getDeletedwith() !== "") throw new Error(`${key}: lab runtime does not implement deletedWith`);
        this.observed.set(key, {
            urn,
            parent: request.getParent(),
            dependencies: request.getDependenciesList(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
            replaceOnChanges: request.getReplaceonchangesList(),
            ignoreChanges: request.getIgnorechangesList(),
            replacementTrigger: request.getReplacementTrigger()?.toJavaScript(),
            protect: request.getProtect(),
            retainOnDelete: request.getRetainondelete(),
        });
    }
}
