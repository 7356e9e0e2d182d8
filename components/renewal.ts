/**
 * Certificate renewal driven by the clock, in fixed generations, so that it works with the real tls provider (whose
 * `earlyRenewalHours` makes every preview depend on the clock through the provider, and has been reported not to
 * fire) and is predictable: the generation is a pure function of the date and two settings, shown as an output, and
 * the preview changes on a known day only.
 *
 * Time is cut into periods of (validity − renewBefore) days counted from the Unix epoch; the generation number goes
 * into every leaf certificate's subject and key trigger, so the first `pulumi up` of a new period re-issues them all
 * (members restart one at a time). A certificate issued during period g expires at least renewBefore days after
 * period g ends: any `pulumi up` in that window renews it before it expires, and a certificate issued early in its
 * period is simply re-issued sooner than needed.
 */

const DAY_MS = 86_400_000;

export interface Renewal {
    generation: number;
    /** The first instant at which a `pulumi up` re-issues the certificates. */
    renewsAfter: Date;
}

export function certificateRenewal(nowMs: number, validityDays: number, renewBeforeDays: number): Renewal {
    if (!(renewBeforeDays >= 1 && renewBeforeDays < validityDays)) throw new Error(`renewBeforeDays ${renewBeforeDays} must be 1 or more and below validityDays ${validityDays}`);
    const periodMs = (validityDays - renewBeforeDays) * DAY_MS;
    const generation = Math.floor(nowMs / periodMs);
    return { generation, renewsAfter: new Date((generation + 1) * periodMs) };
}

/** What re-issues a leaf certificate (subject and key trigger): the operator's rotation value and the renewal generation. */
export function rotationLabel(certRotation: string, renewal: Renewal): string {
    return `${certRotation} renewal ${renewal.generation}`;
}
