from motcua.dossiers.bootstrap import build
from motcua.kernel.runtime import main

main("dossiers", build)
