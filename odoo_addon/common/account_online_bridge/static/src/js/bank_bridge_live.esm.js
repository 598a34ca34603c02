/** @odoo-module **/
/* Copyright 2025 bankbridge contributors
 * License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import {CharField, charField} from "@web/views/fields/char/char_field";
import {onWillUnmount} from "@odoo/owl";
import {registry} from "@web/core/registry";

// What the background job is doing for a connection (the bank answering,
// an import running). While it shows, the connection is read again every
// two seconds so that its progress and outcome appear without a click;
// reading a connection only reads it (the job does the work).
const POLL_MILLISECONDS = 2000;

export class BankBridgeLiveField extends CharField {
    setup() {
        super.setup();
        const timer = setInterval(() => {
            const record = this.props.record;
            if (!record.dirty) {
                record.load();
            }
        }, POLL_MILLISECONDS);
        onWillUnmount(() => clearInterval(timer));
    }
}

registry.category("fields").add("bank_bridge_live", {
    ...charField,
    component: BankBridgeLiveField,
});
