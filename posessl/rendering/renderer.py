"""Headless OpenGL (moderngl on EGL) renderer with the OpenCV camera model.
"""
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np

from .mesh import Mesh

if TYPE_CHECKING:  # pragma: no cover
    import moderngl

__all__ = ['Renderer', 'projection_matrix', 'create_context', 'EGL_HELP']

EGL_HELP = ('install the system libraries libegl1, libgl1 and '
            'libgl1-mesa-dri (apt-get install libegl1 libgl1 '
            'libgl1-mesa-dri)')

# what both colour passes declare: exposure, noise and the two attachments
_FRAGMENT_COMMON = '''
uniform vec3 gain;
uniform float noise_std;
uniform uint seed;
layout(location = 0) out vec4 out_color;
layout(location = 1) out float out_z;
uint hash_u(uint x) {
    x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU;
    x ^= x >> 16; return x;
}
float bytes_sum(uint h) {
    // sum of the four bytes of h, scaled to zero mean and unit variance
    // (Irwin-Hall with four terms: close to a Gaussian)
    uint s = (h & 255U) + ((h >> 8) & 255U) + ((h >> 16) & 255U) + (h >> 24);
    return (float(s) - 510.0) * (1.7320508 / 255.0);
}
vec3 gauss3(uvec2 p, uint seed) {
    uint h = hash_u(hash_u(p.x + 65536U * p.y) ^ seed);
    return vec3(bytes_sum(h), bytes_sum(hash_u(h ^ 0x9e3779b9U)),
                bytes_sum(hash_u(h + 0x7f4a7c15U)));
}
'''

_OBJECT_VS = '''
#version 330
uniform mat4 mvp;
uniform mat4 model_view;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_pos;
out vec3 v_normal;
out vec3 v_color;
out float v_z;
void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_color = in_color;
    v_z = (model_view * vec4(in_pos, 1.0)).z;
    gl_Position = mvp * vec4(in_pos, 1.0);
}
'''

_OBJECT_FS = '''
#version 330
uniform vec3 light_dir;
uniform vec3 cam_pos;
uniform float ambient;
uniform float diffuse;
uniform float specular;
uniform float shininess;
in vec3 v_pos;
in vec3 v_normal;
in vec3 v_color;
in float v_z;
''' + _FRAGMENT_COMMON + '''
void main() {
    vec3 n = normalize(v_normal);
    float lambert = max(dot(n, light_dir), 0.0);
    vec3 view = normalize(cam_pos - v_pos);
    vec3 halfway = normalize(light_dir + view);
    float spec = lambert > 0.0
        ? specular * pow(max(dot(n, halfway), 0.0), shininess) : 0.0;
    vec3 c = v_color * (ambient + diffuse * lambert) + vec3(spec);
    c = c * gain + noise_std * gauss3(uvec2(gl_FragCoord.xy), seed);
    out_color = vec4(clamp(c, 0.0, 1.0), 1.0);
    out_z = v_z;
}
'''

_BACKGROUND_VS = '''
#version 330
in vec2 in_ndc;
void main() { gl_Position = vec4(in_ndc, 0.0, 1.0); }
'''

_BACKGROUND_FS = '''
#version 330
uniform mat3 ray_matrix;
uniform samplerCube environment;
''' + _FRAGMENT_COMMON + '''
void main() {
    vec3 ray = ray_matrix * vec3(gl_FragCoord.xy - 0.5, 1.0);
    vec3 c = texture(environment, ray).rgb * gain;
    c += noise_std * gauss3(uvec2(gl_FragCoord.xy), seed);
    out_color = vec4(clamp(c, 0.0, 1.0), 0.0);
    out_z = 0.0;
}
'''

_SILHOUETTE_VS = '''
#version 330
uniform mat4 mvp;
in vec3 in_pos;
void main() { gl_Position = mvp * vec4(in_pos, 1.0); }
'''

_SILHOUETTE_FS = '''
#version 330
out float out_mask;
void main() { out_mask = 1.0; }
'''


def projection_matrix(K: np.ndarray, width: int, height: int, near: float,
                      far: float) -> np.ndarray:
    """OpenGL clip matrix of the OpenCV camera ``K`` (rows top-down):
    ``x_ndc = 2 (u + 0.5) / width - 1`` (likewise ``v``), depth
    ``[near, far]`` (mm) to ``[-1, 1]``."""
    fx, s, cx = K[0]
    fy, cy = K[1, 1], K[1, 2]
    return np.array([
        [2 * fx / width, 2 * s / width, (2 * cx + 1) / width - 1, 0.0],
        [0.0, 2 * fy / height, (2 * cy + 1) / height - 1, 0.0],
        [0.0, 0.0, (far + near) / (far - near),
         -2 * far * near / (far - near)],
        [0.0, 0.0, 1.0, 0.0]])


def create_context() -> 'moderngl.Context':
    """A standalone headless EGL context.

    Raises:
        RuntimeError: one line naming the system libraries to install.
    """
    try:
        import moderngl
    except ImportError as exc:  # pragma: no cover - listed dependency
        raise RuntimeError(
            f'the renderer needs moderngl ({exc}); '
            'pip install moderngl') from None
    try:
        return moderngl.create_standalone_context(backend='egl')
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() \
            else type(exc).__name__
        raise RuntimeError(
            f'cannot create a headless OpenGL context on EGL ({reason}): '
            f'{EGL_HELP}') from None


class Renderer:
    """Renders one object over a cube-map background, OpenCV camera ``K``.

    Pixel ``(u, v)`` has its centre at integer coordinates
    (``u = fx x / z + cx``); image row 0 is the top. The output is a pure
    function of the inputs (sensor noise is a per-pixel hash of the seed).
    ``render`` and ``silhouette`` raise ``RuntimeError`` before the mesh
    (and, for ``render``, the environment) is set.

    Args:
        width, height: image size in pixels.
        K: (3, 3) camera matrix.
        near, far: clipping range in mm.
        with_depth: also render camera z (else ``render``'s depth is None).
    """

    def __init__(self, width: int, height: int, K: np.ndarray,
                 near: float = 10.0, far: float = 20000.0,
                 with_depth: bool = True) -> None:
        import moderngl

        self.width, self.height = int(width), int(height)
        self.K = np.asarray(K, dtype=np.float64)
        self.near, self.far = near, far
        self.ctx = create_context()
        ctx = self.ctx
        self._object_prog = ctx.program(vertex_shader=_OBJECT_VS,
                                        fragment_shader=_OBJECT_FS)
        self._background_prog = ctx.program(vertex_shader=_BACKGROUND_VS,
                                            fragment_shader=_BACKGROUND_FS)
        self._silhouette_prog = ctx.program(vertex_shader=_SILHOUETTE_VS,
                                            fragment_shader=_SILHOUETTE_FS)
        size = (self.width, self.height)
        self.with_depth = with_depth
        self._color = ctx.renderbuffer(size, components=4)
        self._depth = ctx.depth_renderbuffer(size)
        attachments = [self._color]
        if with_depth:
            attachments.append(
                ctx.renderbuffer(size, components=1, dtype='f4'))
        self._fbo = ctx.framebuffer(attachments, self._depth)
        # a triangle that covers the whole viewport
        tri = np.array([-1, -1, 3, -1, -1, 3], dtype='f4')
        self._tri_vbo = ctx.buffer(tri.tobytes())
        self._background_vao = ctx.vertex_array(
            self._background_prog, [(self._tri_vbo, '2f', 'in_ndc')])
        self._object_vao = None
        self._silhouette_vao = None
        self._buffers: list = []
        self._environment = None
        self._big_fbo = None
        self._moderngl = moderngl

    # ------------------------------------------------------------ scene
    def set_mesh(self, mesh: Mesh) -> None:
        """Upload the object mesh (mm, vertex colours)."""
        for buf in self._buffers:
            buf.release()
        if self._object_vao is not None:
            self._object_vao.release()
            self._silhouette_vao.release()
        data = np.concatenate([mesh.vertices, mesh.normals,
                               mesh.colors.astype(np.float64) / 255.0], 1)
        vbo = self.ctx.buffer(data.astype('f4').tobytes())
        ibo = self.ctx.buffer(mesh.faces.astype('i4').tobytes())
        self._buffers = [vbo, ibo]
        self._object_vao = self.ctx.vertex_array(
            self._object_prog,
            [(vbo, '3f 3f 3f', 'in_pos', 'in_normal', 'in_color')],
            index_buffer=ibo, index_element_size=4)
        self._silhouette_vao = self.ctx.vertex_array(
            self._silhouette_prog, [(vbo, '3f 24x', 'in_pos')],
            index_buffer=ibo, index_element_size=4)

    def set_environment(self, faces: np.ndarray) -> None:
        """Upload a ``(6, S, S, 3)`` uint8 cube map (+x, -x, +y, -y, +z, -z).
        """
        if self._environment is not None:
            self._environment.release()
        size = faces.shape[1]
        tex = self.ctx.texture_cube((size, size), 3,
                                    np.ascontiguousarray(faces).tobytes())
        tex.filter = (self._moderngl.LINEAR, self._moderngl.LINEAR)
        self._environment = tex

    # ------------------------------------------------------------ drawing
    def render(self, R: np.ndarray, t: np.ndarray, *,
               light_dir: np.ndarray, ambient: float, diffuse: float,
               specular: float, shininess: float, gain: np.ndarray,
               background_gain: float, noise_std: float, seed: int,
               environment_rotation: Optional[np.ndarray] = None,
               ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Render one frame at pose ``x_cam = R x + t`` (mm).

        Args:
            light_dir: unit direction towards the light, model frame.
            ambient, diffuse, specular, shininess: light and material.
            gain: RGB exposure and white balance.
            background_gain: background brightness relative to ``gain``.
            noise_std: sensor noise (0-1 intensity units).
            seed: noise seed (one per frame).
            environment_rotation: rotation of the cube map relative to the
                model frame (identity where None).

        Returns:
            ``rgb`` (H, W, 3) uint8, ``mask`` (H, W) bool (the object's
            exact coverage) and ``depth`` (H, W) float32 camera z in mm
            (0 off the object; None without ``with_depth``).
        """
        if self._object_vao is None or self._environment is None:
            raise RuntimeError('Renderer.render: call set_mesh and '
                               'set_environment first')
        ctx = self.ctx
        R = np.asarray(R, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        model_view = _model_view(R, t)
        proj = projection_matrix(self.K, self.width, self.height, self.near,
                                 self.far)
        env = np.eye(3) if environment_rotation is None else np.asarray(
            environment_rotation, dtype=np.float64)
        gain = np.asarray(gain, dtype=np.float64)
        seed = int(seed) & 0xFFFFFFFF

        self._fbo.use()
        ctx.viewport = (0, 0, self.width, self.height)
        ctx.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        ctx.disable(self._moderngl.DEPTH_TEST | self._moderngl.CULL_FACE)
        bg = self._background_prog
        bg['ray_matrix'].write(_mat(env @ R.T @ np.linalg.inv(self.K)))
        bg['gain'].value = tuple(gain * background_gain)
        bg['noise_std'].value = float(noise_std)
        bg['seed'].value = seed
        self._environment.use(location=0)
        bg['environment'].value = 0
        self._background_vao.render(self._moderngl.TRIANGLES)

        ctx.enable(self._moderngl.DEPTH_TEST | self._moderngl.CULL_FACE)
        ctx.front_face = 'cw'  # rows top-down mirror y: outward faces turn cw
        ctx.cull_face = 'back'
        prog = self._object_prog
        prog['mvp'].write(_mat(proj @ model_view))
        prog['model_view'].write(_mat(model_view))
        prog['light_dir'].value = tuple(np.asarray(light_dir, float))
        prog['cam_pos'].value = tuple(-R.T @ t)
        prog['ambient'].value = float(ambient)
        prog['diffuse'].value = float(diffuse)
        prog['specular'].value = float(specular)
        prog['shininess'].value = float(shininess)
        prog['gain'].value = tuple(gain)
        prog['noise_std'].value = float(noise_std)
        prog['seed'].value = seed
        self._object_vao.render(self._moderngl.TRIANGLES)

        shape = (self.height, self.width)
        rgba = np.frombuffer(self._fbo.read(components=4, attachment=0),
                             np.uint8).reshape(*shape, 4)
        rgb = np.frombuffer(self._fbo.read(components=3, attachment=0),
                            np.uint8).reshape(*shape, 3)
        depth = None
        if self.with_depth:
            depth = np.frombuffer(
                self._fbo.read(components=1, attachment=1, dtype='f4'),
                np.float32).reshape(shape).copy()
        return rgb.copy(), rgba[..., 3] > 127, depth

    def silhouette(self, R: np.ndarray, t: np.ndarray, pad_x: int,
                   pad_y: int) -> np.ndarray:
        """Object coverage on a canvas enlarged by ``pad`` px on each side:
        image pixel ``(u, v)`` is pixel ``(u + pad_x, v + pad_y)`` of the
        returned ``(H + 2 pad_y, W + 2 pad_x)`` bool mask."""
        if self._object_vao is None:
            raise RuntimeError('Renderer.silhouette: call set_mesh first')
        w, h = self.width + 2 * pad_x, self.height + 2 * pad_y
        if self._big_fbo is None or self._big_fbo.size != (w, h):
            if self._big_fbo is not None:
                for att in self._big_attachments:
                    att.release()
                self._big_fbo.release()
            self._big_attachments = [
                self.ctx.renderbuffer((w, h), components=1),
                self.ctx.depth_renderbuffer((w, h))]
            self._big_fbo = self.ctx.framebuffer(
                [self._big_attachments[0]], self._big_attachments[1])
        K = self.K.copy()
        K[0, 2] += pad_x
        K[1, 2] += pad_y
        model_view = _model_view(R, t)
        proj = projection_matrix(K, w, h, self.near, self.far)
        ctx = self.ctx
        self._big_fbo.use()
        ctx.viewport = (0, 0, w, h)
        ctx.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        ctx.enable(self._moderngl.DEPTH_TEST | self._moderngl.CULL_FACE)
        ctx.front_face = 'cw'
        self._silhouette_prog['mvp'].write(_mat(proj @ model_view))
        self._silhouette_vao.render(self._moderngl.TRIANGLES)
        mask = np.frombuffer(self._big_fbo.read(components=1), np.uint8)
        return mask.reshape(h, w) > 127

    def release(self) -> None:
        """Free the GL context and everything on it."""
        if self.ctx is not None:
            self.ctx.release()
            self.ctx = None

    def __enter__(self) -> 'Renderer':
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _model_view(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """4x4 model-view matrix of ``x_cam = R x + t``."""
    model_view = np.eye(4)
    model_view[:3, :3], model_view[:3, 3] = R, t
    return model_view


def _mat(m: np.ndarray) -> bytes:
    """Bytes of a numpy matrix for a GLSL (column-major) uniform."""
    return np.ascontiguousarray(m.T, dtype='f4').tobytes()
