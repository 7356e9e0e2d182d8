/** Stack configuration: the cluster's settings (etcd.ts) and the target section (../targets), read by stack.ts. */
export * from "./etcd";
export * from "./net";
export * from "./reader";
export * from "./stack";
