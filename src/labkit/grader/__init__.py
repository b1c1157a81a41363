"""The trusted side of grading: it decides every grade. It starts the learner's kernel inside a fence
(fence), talks to the probe in it (kernel_client), runs the checks and hidden tests in its own process (grade)
and writes gradebooks (gradebook). A grading kernel receives all of labkit but this package.
"""
