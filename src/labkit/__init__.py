"""labkit: the graded labs of the book.

One MyST source per lab (``labs/<lab>/lab.md``) holds the text, the solutions and the
hidden tests. From it labkit makes the student notebook (``labkit release``), grades a
learner's notebook in a fresh kernel (``labkit grade``) and a whole folder of them
(``labkit gradebook``). The checks that name a learner's mistakes live in
``labkit.checks`` so that the public check cells and the grader run the same code.
"""
