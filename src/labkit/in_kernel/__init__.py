"""The learner's side of grading: code that runs inside the learner's kernel, beside the learner's code, and is
therefore untrusted. The probe answers the grader's requests with plain data (labkit.wire); the guards bound
what the learner's code may do meanwhile. Nothing here decides a grade, and nothing here imports the grader
(labkit.grader), which a grading kernel does not have.
"""
