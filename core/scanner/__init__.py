"""Strategy scanner: playbook detectors, trade plans, target engine, plan follower, evaluation.

Entry points: `core.scanner.setups.scan_setups` / `LiveScanner` (setup states: triggered, armed,
forming, none), `core.scanner.scan.scan` (plans on the latest bar), `core.scanner.evaluate.evaluate`,
`core.scanner.calibration` (shipped and refitted confidence calibrations), `core.scanner.cli.main`
(eval-scanner). See docs/scanner.md.
"""
