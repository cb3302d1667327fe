"""Material for tests and demonstrations, never used by a check.

- :mod:`provenance.testing.pki`: a throw-away certificate authority and signers, made at run
  time with ``cryptography``;
- :mod:`provenance.testing.signing`: sign a file with c2pa-python's Builder (with or without
  an AI declaration and a history);
- :mod:`provenance.testing.tamper`: alter signed files in the ways the tests need (content
  bytes, manifest bytes, truncation);
- :mod:`provenance.testing.synth`: synthetic clips and images written with PyAV and OpenCV.

The check pipeline (``media``, ``credentials``, ``watermark``, ``check``) never imports this
package; tests, ``datasets/`` and ``benchmarks/`` do. The certificates it makes are for
demonstrations only: never trust its roots outside a test.
"""
