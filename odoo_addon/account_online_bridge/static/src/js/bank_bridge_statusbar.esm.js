/** @odoo-module **/
/* Copyright 2025 bankbridge contributors
 * License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import {StatusBarField, statusBarField} from "@web/views/fields/statusbar/statusbar_field";
import {registry} from "@web/core/registry";
import {useEffect} from "@odoo/owl";

// While the bank is still connecting, or transactions are imported in the
// background, the connection reloads itself (reading it refreshes it from
// the bridge): the user sees the outcome without clicking Refresh.
const POLL_MILLISECONDS = 3000;

export class BankBridgeStatusBarField extends StatusBarField {
    setup() {
        super.setup();
        useEffect(
            (waiting) => {
                if (!waiting) {
                    return undefined;
                }
                const timer = setInterval(() => {
                    const record = this.props.record;
                    if (!record.dirty) {
                        record.load();
                    }
                }, POLL_MILLISECONDS);
                return () => clearInterval(timer);
            },
            () => [
                this.props.record.data.state === "fetching" ||
                    Boolean(this.props.record.data.import_queued),
            ]
        );
    }
}

registry.category("fields").add("bank_bridge_statusbar", {
    ...statusBarField,
    component: BankBridgeStatusBarField,
});
