"""Options: BSM pricing and IV, chain model and parsers, ranker, scenarios, vol metrics, index mode, synth.

Import from the submodules (``core.options.pricing`` ...); nothing heavy is imported here.
"""
