# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
