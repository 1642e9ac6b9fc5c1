# Lets the tests import the function's modules and the shared `common` package by their plain
# names, whether pytest runs here (common/ is beside this folder) or in the image (where it
# was copied into this folder).
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
