{
    "name": "bankbridge benchmark peer: online accounts",
    "summary": "A plain model shaped like account.online.account, for scripts/bench.sh load (not for production)",
    "version": "17.0.1.0.0",
    "license": "AGPL-3",
    "depends": ["base"],
    "data": ["security/ir.model.access.csv"],
    "installable": True,
}
