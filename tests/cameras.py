"""Camera constants shared by the tests (one copy, imported where needed)."""
import numpy as np

#: The LINEMOD camera (640 x 480), as in BOP's ``lm`` camera.json.
LINEMOD_K = np.array([[572.4114, 0.0, 325.2611], [0.0, 573.57043, 242.04899],
                      [0.0, 0.0, 1.0]])
LINEMOD_K.setflags(write=False)
