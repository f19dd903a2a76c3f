"""Code that is not part of the ``mmaction_aim`` library, MMAction2-style:
each project is imported only by the configs that use it
(``custom_imports``), from a checkout whose root is on ``sys.path`` (the
``tools/`` scripts put it there)."""
