/**
 * The prepare-disks script's decisions, run for real by bash against stand-ins for blkid, wipefs, mkfs and mount:
 * a device is formatted only when it is blank, etcd-cluster's own filesystem is reused, anything else is refused
 * before any device is touched.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderPrepareDisksScript } from "../components/scripts/disks";
import { FakeTools, fakeTools, runScript } from "./support/fake-tools";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cluster-disks-"));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));

// Devices are files in $FAKE/dev; what blkid "finds" on one is in <device>.blkid (and <device>.blkid-rc).
const TOOLS = {
    blkid: `if [ "$1" != -p ]; then exit 0; fi
dev=$4
if [ -f "$dev.blkid-rc" ]; then cat "$dev.blkid" 2>/dev/null; exit "$(cat "$dev.blkid-rc")"; fi
if [ -f "$dev.blkid" ]; then cat "$dev.blkid"; exit 0; fi
exit 2`,
    wipefs: `cat "$2.wipefs" 2>/dev/null || true`,
    blockdev: `[ -f "$2" ] && echo 1073741824`,
    "mkfs.ext4": `printf 'UUID=%s\\nTYPE=ext4\\nLABEL=%s\\nUSAGE=filesystem\\n' "$(basename "$4")-uuid" "$3" > "$4.blkid"`,
    mountpoint: `if [ "$1" = -x ]; then echo "id-$(basename "$2")"; exit 0; fi
line=$(grep "^$2 " "$FAKE/mounts" 2>/dev/null) || { echo "$2 is not a mountpoint" >&2; exit 32; }
echo "\${line#* }"`,
    mount: `uuid=$(awk -v d="$1" '$2 == d { print $1 }' "$FAKE/fstab")
dev=$(grep -l "^\${uuid}$" "$FAKE"/dev/*.blkid | head -n 1)
dev=\${dev%.blkid}
echo "$1 id-$(basename "$dev")" >> "$FAKE/mounts"`,
    systemctl: "true",
};

interface Host { fake: FakeTools; dev: (name: string) => string; script: string; fstab: string }

/** A host with blank 2 MiB devices vdb (data) and vdc (WAL), reached through by-id links. */
function host(): Host {
    const fake = fakeTools(root, TOOLS);
    const devDir = path.join(fake.dir, "dev");
    const byId = path.join(fake.dir, "by-id");
    fs.mkdirSync(devDir);
    fs.mkdirSync(byId);
    for (const [name, link] of [["vdb", "lab-data"], ["vdc", "lab-wal"]]) {
        fs.writeFileSync(path.join(devDir, name), Buffer.alloc(2 * 1024 * 1024));
        fs.symlinkSync(path.join("..", "dev", name), path.join(byId, link));
    }
    const fstab = path.join(fake.dir, "fstab");
    fs.writeFileSync(fstab, "# /etc/fstab\nUUID=root-uuid / ext4 errors=remount-ro 0 1\n");
    const script = renderPrepareDisksScript({
        memberName: "etcd-1",
        fstab,
        disks: [
            { role: "data", device: path.join(byId, "lab-data"), mountPoint: path.join(fake.dir, "mnt", "etcd") },
            { role: "wal", device: path.join(byId, "lab-wal"), mountPoint: path.join(fake.dir, "mnt", "etcd-wal") },
        ],
    });
    return { fake, dev: (name) => path.join(devDir, name), script, fstab };
}

const formats = (h: Host) => h.fake.calls().filter((c) => c.startsWith("mkfs"));
const mounts = (h: Host) => h.fake.calls().filter((c) => c.startsWith("mount "));

function refused(h: Host, message: RegExp): void {
    const fstabBefore = fs.readFileSync(h.fstab, "utf8");
    const r = runScript(h.fake, h.script);
    assert.notEqual(r.status, 0, `the step must fail:\n${r.stdout}`);
    assert.match(r.stderr, message);
    assert.deepEqual(formats(h), [], "no device is formatted, not even a blank one beside the refused one");
    assert.deepEqual(mounts(h), [], "nothing is mounted");
    assert.equal(fs.readFileSync(h.fstab, "utf8"), fstabBefore, "fstab is untouched");
}

test("blank devices are formatted with etcd-cluster's labels, recorded in fstab by UUID with noatime,nofail, and mounted", () => {
    const h = host();
    const r = runScript(h.fake, h.script);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(formats(h), [`mkfs.ext4 -q -L etcd-data ${h.dev("vdb")}`, `mkfs.ext4 -q -L etcd-wal ${h.dev("vdc")}`]);
    const fstab = fs.readFileSync(h.fstab, "utf8").trimEnd().split("\n");
    assert.deepEqual(fstab, [
        "# /etc/fstab",
        "UUID=root-uuid / ext4 errors=remount-ro 0 1",
        `UUID=vdb-uuid ${h.fake.dir}/mnt/etcd ext4 noatime,nofail 0 2`,
        `UUID=vdc-uuid ${h.fake.dir}/mnt/etcd-wal ext4 noatime,nofail 0 2`,
    ]);
    assert.deepEqual(mounts(h), [`mount ${h.fake.dir}/mnt/etcd`, `mount ${h.fake.dir}/mnt/etcd-wal`]);
});

test("a second run formats nothing, rewrites nothing and mounts nothing", () => {
    const h = host();
    assert.equal(runScript(h.fake, h.script).status, 0);
    const fstab = fs.readFileSync(h.fstab, "utf8");
    const calls = h.fake.calls().length;
    const again = runScript(h.fake, h.script);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /nothing to do/);
    const second = h.fake.calls().slice(calls);
    assert.deepEqual(second.filter((c) => /^(mkfs|mount |systemctl)/.test(c)), []);
    assert.equal(fs.readFileSync(h.fstab, "utf8"), fstab);
});

test("a device with etcd-cluster's filesystem (a rebuilt host's old disk) is reused: recorded and mounted, not formatted", () => {
    const h = host();
    fs.writeFileSync(`${h.dev("vdb")}.blkid`, "UUID=old-data\nTYPE=ext4\nLABEL=etcd-data\nUSAGE=filesystem\n");
    fs.writeFileSync(`${h.dev("vdc")}.blkid`, "UUID=old-wal\nTYPE=ext4\nLABEL=etcd-wal\nUSAGE=filesystem\n");
    const r = runScript(h.fake, h.script);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(formats(h), []);
    assert.match(fs.readFileSync(h.fstab, "utf8"), /^UUID=old-data .*\/mnt\/etcd ext4 noatime,nofail 0 2$/m);
    assert.equal(mounts(h).length, 2);
});

test("a device of ours that fstab records at another directory (a changed dataDir) is refused before anything changes", () => {
    const h = host();
    fs.writeFileSync(`${h.dev("vdb")}.blkid`, "UUID=old-data\nTYPE=ext4\nLABEL=etcd-data\nUSAGE=filesystem\n");
    fs.appendFileSync(h.fstab, "UUID=old-data /var/lib/etcd ext4 noatime,nofail 0 2\n");
    refused(h, /^etcd-1: etcd-cluster:dataDir: changing it from "\/var\/lib\/etcd" to ".*\/mnt\/etcd" is refused: data device .* Set etcd-cluster:dataDir back to "\/var\/lib\/etcd"$/m);
});

test("a foreign filesystem is refused, naming the device and what it holds", () => {
    const h = host();
    fs.writeFileSync(`${h.dev("vdc")}.blkid`, "UUID=1234\nTYPE=xfs\nLABEL=backups\nUSAGE=filesystem\n");
    refused(h, /wal device .*by-id\/lab-wal holds a xfs filesystem labelled 'backups', not etcd-cluster's ext4 labelled 'etcd-wal'/);
});

test("ext4 without our label, and our data filesystem offered as the WAL, are refused", () => {
    const h = host();
    fs.writeFileSync(`${h.dev("vdb")}.blkid`, "UUID=1\nTYPE=ext4\nUSAGE=filesystem\n");
    refused(h, /data device .* holds a ext4 filesystem labelled '', not etcd-cluster's/);
    const swapped = host();
    fs.writeFileSync(`${swapped.dev("vdc")}.blkid`, "UUID=2\nTYPE=ext4\nLABEL=etcd-data\nUSAGE=filesystem\n");
    refused(swapped, /wal device .* labelled 'etcd-data', not etcd-cluster's ext4 labelled 'etcd-wal'/);
});

test("a partitioned device is refused", () => {
    const h = host();
    fs.writeFileSync(`${h.dev("vdb")}.blkid`, "PTUUID=abcd\nPTTYPE=gpt\n");
    refused(h, /data device .*lab-data holds a partition table \(gpt\)/);
});

test("a device blkid cannot judge, or with signatures only wipefs sees, or with unrecognised data, is refused", () => {
    const ambivalent = host();
    fs.writeFileSync(`${ambivalent.dev("vdb")}.blkid-rc`, "8");
    refused(ambivalent, /blkid cannot tell what .*vdb holds \(exit 8/);
    const signed = host();
    fs.writeFileSync(`${signed.dev("vdb")}.wipefs`, "0x218 LVM2_member\n");
    refused(signed, /holds signatures blkid does not report \(0x218 LVM2_member\)/);
    const dirty = host();
    fs.writeFileSync(dirty.dev("vdc"), Buffer.concat([Buffer.alloc(4096), Buffer.from("some database"), Buffer.alloc(2 * 1024 * 1024)]));
    refused(dirty, /wal device .* holds data no tool recognises \(its first MiB is not zero\)/);
});

test("the same device named twice is refused", () => {
    const h = host();
    const script = h.script.replace(/lab-wal/, "lab-data");
    const r = runScript(h.fake, script);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /is the same device as another of this member's disks/);
    assert.deepEqual(formats(h), []);
});

test("a mount point that already holds files, or another device, is never mounted over", () => {
    const h = host();
    fs.mkdirSync(path.join(h.fake.dir, "mnt", "etcd"), { recursive: true });
    fs.writeFileSync(path.join(h.fake.dir, "mnt", "etcd", "old"), "data");
    const r = runScript(h.fake, h.script);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /mnt\/etcd holds files on the disk underneath; mounting data device/);
    assert.deepEqual(mounts(h), []);
    const other = host();
    fs.writeFileSync(path.join(other.fake.dir, "mounts"), `${other.fake.dir}/mnt/etcd-wal id-sdz\n`);
    const o = runScript(other.fake, other.script);
    assert.notEqual(o.status, 0);
    assert.match(o.stderr, /mnt\/etcd-wal is already a mount point of another device \(id-sdz/);
});
