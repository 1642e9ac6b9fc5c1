# Lets the tests import the function's modules by their plain names, whether
# pytest runs here or inside the image (where this folder is a package).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
