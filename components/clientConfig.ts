/** How consumers reach the cluster: pure text built from the client endpoints. */

export const ETCDCTL_FILES = { ca: "etcd-ca.crt", cert: "etcd-admin.crt", key: "etcd-admin.key" } as const;

export const KUBE_APISERVER_FILES = {
    ca: "/etc/kubernetes/pki/etcd/ca.crt",
    cert: "/etc/kubernetes/pki/apiserver-etcd-client.crt",
    key: "/etc/kubernetes/pki/apiserver-etcd-client.key",
} as const;

/** Shell lines for etcdctl; the files are written from the stack outputs (see README). */
export function etcdctlEnvironment(endpoints: string[]): string {
    return [
        `export ETCDCTL_API=3`,
        `export ETCDCTL_ENDPOINTS=${endpoints.join(",")}`,
        `export ETCDCTL_CACERT=${ETCDCTL_FILES.ca}`,
        `export ETCDCTL_CERT=${ETCDCTL_FILES.cert}`,
        `export ETCDCTL_KEY=${ETCDCTL_FILES.key}`,
        "",
    ].join("\n");
}

export function kubeApiserverFlags(endpoints: string[]): string[] {
    return [
        `--etcd-servers=${endpoints.join(",")}`,
        `--etcd-cafile=${KUBE_APISERVER_FILES.ca}`,
        `--etcd-certfile=${KUBE_APISERVER_FILES.cert}`,
        `--etcd-keyfile=${KUBE_APISERVER_FILES.key}`,
    ];
}
