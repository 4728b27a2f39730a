"""Strategy scanner: playbook detectors, trade plans, target engine, plan follower, evaluation.

Entry points: `core.scanner.scan.scan`, `core.scanner.evaluate.evaluate`, `core.scanner.cli.main`
(eval-scanner). See docs/scanner.md.
"""
