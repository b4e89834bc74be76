"""Training, experiments and benchmarks: research code outside the product.

Not an installed app: the apps never import it (``tests/test_layering.py`` checks), and it
has its own requirements (``requirements/lab.txt``). See ``lab/README.md``.
"""
