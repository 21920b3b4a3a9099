"""``python -m ijkg.service`` is the ``ijkg`` command."""

from ijkg.service.cli import main

main()
