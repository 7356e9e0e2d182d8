import { test } from "node:test";
import * as assert from "node:assert/strict";
import { certificateRenewal } from "../components/renewal";

const DAY = 86_400_000;

test("a certificate issued in any generation is renewed (by the next update) at least renewBefore days before it expires", () => {
    const validity = 365;
    const renewBefore = 30;
    // Issued at any moment of a generation, the certificate's expiry lies at least 30 days after that generation ends.
    for (let day = 0; day < 3 * 365; day += 7) {
        const issued = Date.UTC(2026, 0, 1) + day * DAY + 12345;
        const { generation, renewsAfter } = certificateRenewal(issued, validity, renewBefore);
        const expires = issued + validity * DAY;
        assert.ok(expires - renewsAfter.getTime() >= renewBefore * DAY, `issued ${new Date(issued).toISOString()}`);
        assert.equal(certificateRenewal(renewsAfter.getTime() - 1, validity, renewBefore).generation, generation, "unchanged up to the renewal date");
        assert.equal(certificateRenewal(renewsAfter.getTime(), validity, renewBefore).generation, generation + 1, "a new generation from the renewal date on");
    }
});

test("the generation depends only on the date and the two settings (a preview is the same all day long)", () => {
    const noon = Date.UTC(2027, 5, 1, 12);
    assert.deepEqual(certificateRenewal(noon, 365, 30), certificateRenewal(noon + 3600_000, 365, 30));
    assert.throws(() => certificateRenewal(noon, 30, 30), /below validityDays/);
});
