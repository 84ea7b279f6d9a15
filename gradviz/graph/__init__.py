"""Tensors -> a networkx graph, gradient statistics and colours, layout, export.

No Qt here: everything in this package runs headless. Submodules are imported on use
(``gradviz.graph.model``, ``.colors``, ``.export``, ...), so importing the package is cheap.
"""
