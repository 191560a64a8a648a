// Per-user image transforms: how one person's camera differs from the one the data set was shot
// with. Deterministic, and bit-identical on every CPU.
//
// An image is `h` rows of `w` uint8 grey levels, row-major, 0 = background (Fashion-MNIST's
// convention). Apply() runs these stages in double precision, rounds once (stage 10) and then
// posterises the bytes:
//
//   1. geometry: the picture is mirrored (left and right swapped, if `mirror`), sheared along x
//      (a point `d` rows below the centre moves `shear * d` pixels right), zoomed by `zoom`
//      (> 1 enlarges) and rotated by `rotation_degrees` (counter-clockwise as displayed, rows
//      grow downwards), all about the image centre ((w-1)/2, (h-1)/2) and in that order, then
//      shifted by (shift_x, shift_y) pixels (right, down; fractions allowed). Each output pixel
//      maps back through the inverse of all that to a source point that is sampled bilinearly;
//      source pixels outside the image read as 0.
//   2. inversion: inside the rectangle `inversion` (clipped to the image), v = 255 - v; the
//      rest of the image is untouched. (A part of the picture in negative, e.g. a patch of a
//      screen or a film; chosen over a blend v + a (255 - 2v), which is only an affine map,
//      i.e. the contrast and brightness stages again.)
//   3. occlusion: the rectangle `occlusion` (clipped to the image) is filled with grey level
//      `occlusion_level`, as if something stood between the camera and the subject; the later
//      stages (blur, contrast, ...) act on it like on the rest of the picture.
//   4. blur: a separable Gaussian of standard deviation `blur_sigma` pixels (0 = none), radius
//      ceil(3 sigma), weights normalised to sum 1; pixels outside the image read as 0.
//   5. contrast: v = mean + contrast * (v - mean), about the mean of the image after stage 4
//      (so a contrast change alone keeps the image's mean; the background moves with it).
//   6. brightness: v += brightness (grey levels), then v is clamped to [0, 255].
//   7. gamma: v = 255 * (v / 255)^gamma.
//   8. noise: v += noise_std * z, z standard normal, one per pixel in row-major order, drawn
//      from an Rng seeded with `noise_seed` (so an image's noise depends only on that seed).
//   9. v is clamped to [0, 255] and rounded half up to uint8 u.
//  10. posterise: with N = `posterise_levels` > 0, u falls in bin q = floor(u N / 256) of N
//      equal bins and becomes round(255 q / (N - 1)) (integer arithmetic, halves up): N = 2
//      gives 0 and 255, N = 4 gives 0, 85, 170, 255 for u in 0..63, 64..127, 128..191,
//      192..255; N = 256 changes nothing.
// A stage whose parameter is neutral (no mirror, zoom 1, shear 0, 0 degrees and 0 shift, empty
// rectangles, sigma 0, contrast 1, gamma 1, noise 0, 0 levels) is skipped, so the identity
// transform returns its input exactly, and a transform that uses none of the stages added later
// (mirror, zoom, shear, inversion, occlusion, posterise) gives the same bytes as before they
// were added. Rotation by a multiple of 90 degrees of a square image, a shift by whole pixels,
// the mirror, a whole-pixel shear of a row and a zoom by 2 of a pixel whose offset from the
// centre is even move pixel centres onto pixel centres and are therefore exact (with 0 filled
// in where the source lies outside the image).
//
// Portability: results must not depend on the C library or the CPU. So nothing here calls
// libm's transcendental functions (their last bits differ between implementations) or
// std::normal_distribution (its algorithm differs between standard libraries): the Rng is
// splitmix64, normal deviates come from Marsaglia's polar method, and log, exp and sin/cos are
// computed below from +, -, *, /, sqrt, floor and ldexp/frexp, which IEEE 754 defines exactly.
// The library is built with -ffp-contract=off so the compiler does not fuse a*b+c into one
// rounding on CPUs that have FMA (aarch64) and not on others.
#ifndef PERSEPHONEE_TRAINING_IMAGE_TRANSFORM_H_
#define PERSEPHONEE_TRAINING_IMAGE_TRANSFORM_H_

#include <cstdint>
#include <string>

#include "base/status.h"

namespace persephonee {

/// A deterministic pseudo-random number generator: splitmix64 (Steele, Lea, Flood 2014). Its
/// output depends only on the seed and the sequence of calls, on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  /// 64 uniformly random bits.
  uint64_t Next();
  /// A uniform double in [0, 1), a multiple of 2^-53.
  double Uniform();
  /// A uniform double in [lo, hi).
  double Uniform(double lo, double hi);
  /// A uniform integer in [0, n), without modulo bias; `n` must be > 0 (returns 0 if it is 0).
  uint64_t Below(uint64_t n);
  /// A standard normal deviate (Marsaglia's polar method; the second value of each pair is
  /// kept for the next call).
  double Normal();
  /// An exponential deviate with mean 1.
  double Exponential();

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// Mixes two 64-bit values into a seed (splitmix64's finaliser over both); used to derive
/// independent streams, e.g. the noise seed of image `index` of user `seed`.
uint64_t MixSeed(uint64_t a, uint64_t b);

/// Natural logarithm of `x` > 0, to within ~2 ulp, identical on every platform. Returns -inf
/// for 0 and NaN for negative or NaN input.
double PortableLog(double x);
/// e^x to within ~2 ulp, identical on every platform (0 below -745, +inf above 709.7).
double PortableExp(double x);
/// sin and cos of an angle in degrees, identical on every platform; exact (0, +-1) at multiples
/// of 90 degrees.
void PortableSinCosDegrees(double degrees, double* sine, double* cosine);

/// A rectangle of pixels: columns [x, x + width) of rows [y, y + height). It may reach beyond
/// the image (only the part inside counts); width or height 0 means no rectangle.
struct PixelRect {
  int x = 0;       ///< Leftmost column; in [-4096, 4096].
  int y = 0;       ///< Top row; in [-4096, 4096].
  int width = 0;   ///< In [0, 4096].
  int height = 0;  ///< In [0, 4096].

  bool IsEmpty() const { return width == 0 || height == 0; }
};

/// Everything that makes one user's pictures look the way they do. The default is the identity.
struct PersonalTransform {
  double brightness = 0.0;        ///< Grey levels added (stage 6); any finite value.
  double contrast = 1.0;          ///< Scale about the image mean (stage 5); finite, >= 0.
  double gamma = 1.0;             ///< Exponent on v/255 (stage 7); finite, > 0.
  double rotation_degrees = 0.0;  ///< Counter-clockwise as displayed (stage 1); finite.
  double shift_x = 0.0;           ///< Pixels to the right (stage 1); finite.
  double shift_y = 0.0;           ///< Pixels down (stage 1); finite.
  double blur_sigma = 0.0;        ///< Gaussian standard deviation in pixels (stage 4); [0, 10].
  double noise_std = 0.0;         ///< Noise standard deviation in grey levels (stage 8); >= 0.
  // Stages added for the second family of simulated users (training/users.h).
  bool mirror = false;       ///< Swap left and right before the rest of stage 1.
  double zoom = 1.0;         ///< Scale about the centre (stage 1); in [0.1, 10], > 1 enlarges.
  double shear = 0.0;        ///< x-shear: pixels right per row below the centre (stage 1); [-2, 2].
  PixelRect inversion;       ///< Where v becomes 255 - v (stage 2).
  PixelRect occlusion;       ///< Filled with occlusion_level (stage 3).
  int occlusion_level = 0;   ///< Grey level of the occluder; in [0, 255].
  int posterise_levels = 0;  ///< Grey levels kept (stage 10); 0 = off, else in [2, 256].

  /// True if every stage is neutral (Apply then copies its input).
  bool IsIdentity() const;
  /// True if a stage added for the second family (mirror, zoom, shear, inversion, occlusion,
  /// posterise) is not neutral.
  bool UsesLaterStages() const;
  /// "rotation=... shift=(x,y) blur=... contrast=... brightness=... gamma=... noise=...",
  /// followed, if UsesLaterStages(), by " mirror=0|1 zoom=... shear=... inversion=WxH@(x,y)
  /// occlusion=WxH@(x,y)/level posterise=N" (so a transform of the first kind reads as before).
  std::string ToString() const;
};

/// Checks that every parameter of `t` is in its documented range; kInvalidArgument naming the
/// parameter otherwise.
Status ValidateTransform(const PersonalTransform& t);

/// Transforms the `h` x `w` image at `in` into `out` (both h*w bytes, row-major; they may be the
/// same buffer) as described at the top of this file. `noise_seed` seeds stage 8; derive it
/// with MixSeed from the user's seed and the image's index so every image has its own noise
/// and the same image always gets the same noise. Fails with kInvalidArgument on a bad
/// parameter, a non-positive or oversized (> 4096) dimension or a null pointer.
Status Apply(const PersonalTransform& t, const uint8_t* in, uint8_t* out, int h, int w,
             uint64_t noise_seed);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_IMAGE_TRANSFORM_H_
