"""What a real camera does to a clip does not change the answer: a mirrored (selfie) recording and a
browser recording converted to mp4 at a 1000 fps time base are recognised as the original is; the
camera views of `signscribe.evaluation.camera` render a real clip as those cameras would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import write_video
from signscribe.errors import SignscribeError
from signscribe.inference import Recognizer
from signscribe.io import probe, read_frames

# Real WLASL clips of WLASL100 glosses (train split, untrimmed): basketball, signed with both hands, and dog.
CLIPS = ("65145", "69298")


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.from_pretrained("default")


def _even(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return np.ascontiguousarray(image[: height - height % 2, : width - width % 2])


@pytest.mark.parametrize("clip", CLIPS)
def test_a_mirrored_clip_is_recognised_as_the_original(
    clip: str, wlasl_dir: Path, tmp_path: Path, recognizer: Recognizer
) -> None:
    original = wlasl_dir / "clips" / f"{clip}.mp4"
    frames = [_even(frame.image[:, ::-1]) for frame in read_frames(original)]
    mirrored = write_video(tmp_path / f"{clip}_mirrored.mp4", frames, fps=round(probe(original).fps))
    expected, seen = recognizer.predict(original, top_k=3), recognizer.predict(mirrored, top_k=3)
    assert seen[0].gloss == expected[0].gloss, (expected, seen)
    assert seen[0].confidence == pytest.approx(expected[0].confidence, abs=0.15)


def test_a_1000_fps_recording_is_recognised_as_the_original(
    wlasl_dir: Path, tmp_path: Path, recognizer: Recognizer
) -> None:
    original = wlasl_dir / "clips" / f"{CLIPS[0]}.mp4"
    fps = probe(original).fps
    images = [_even(frame.image) for frame in read_frames(original)]
    repeated = [images[int(ms * fps / 1000)] for ms in range(int(len(images) / fps * 1000))]
    recording = write_video(tmp_path / "recording_1000fps.mp4", repeated, fps=1000)
    assert probe(recording).frame_count > 30 * len(images)
    expected, seen = recognizer.predict(original, top_k=1)[0], recognizer.predict(recording, top_k=1)[0]
    assert seen.gloss == expected.gloss and seen.confidence == pytest.approx(expected.confidence, abs=0.15)


@pytest.fixture(scope="module")
def val_samples(wlasl100_csv: Path) -> list:
    from signscribe.data import open_dataset

    return open_dataset(f"csv:{wlasl100_csv}").select("val").samples[:2]


def _images(path: Path) -> np.ndarray:
    return np.stack([frame.image for frame in read_frames(path)]).astype(np.float32)


def test_each_camera_view_renders_a_real_clip_as_that_camera_would(val_samples: list, tmp_path: Path) -> None:
    from signscribe.evaluation.camera import VIEWS, WEBCAM_SIZE

    source = val_samples[0].path
    original, info = _images(source), probe(source)
    seen = {name: view.render(source, tmp_path / f"{name}.mp4") for name, view in VIEWS.items() if view.changes}
    # mirrored: the same frames flipped (up to H.264's losses)
    assert np.abs(_images(seen["mirrored"]) - original[:, :, ::-1]).mean() < 4
    assert np.abs(_images(seen["mirrored"]) - original).mean() > 10
    # another frame rate: as many frames a second, the same duration
    for name, fps in (("30fps", 30), ("60fps", 60)):
        rendered = probe(seen[name])
        assert rendered.fps == pytest.approx(fps)
        assert rendered.frame_count / fps == pytest.approx(info.frame_count / info.fps, abs=1.5 / info.fps)
    # 720p framing: the clip at half the height, at the bottom, left of centre; the rest is no new content
    webcam = _images(seen["webcam_720p"])
    assert webcam.shape[1:3] == (WEBCAM_SIZE[1], WEBCAM_SIZE[0])
    assert webcam[:, 360:, 192:552].std() > 2 * webcam[:, 360:, 700:].std()
    # low light: darker and noisier, the same scene
    dark = _images(seen["low_light"])
    assert dark.mean() < 0.5 * original.mean()
    assert np.corrcoef(dark.mean(axis=(1, 2, 3)), original.mean(axis=(1, 2, 3)))[0, 1] > 0.5


def test_a_rendered_view_is_a_dataset_and_an_interrupted_rendering_goes_on(val_samples: list, tmp_path: Path) -> None:
    from signscribe.data import open_dataset
    from signscribe.evaluation.camera import VIEWS, render_dataset

    table = render_dataset(val_samples[:1], VIEWS["mirrored"], tmp_path / "mirrored")
    done = (tmp_path / "mirrored" / val_samples[0].path.name).stat().st_mtime_ns
    table = render_dataset(val_samples, VIEWS["mirrored"], tmp_path / "mirrored")
    assert (tmp_path / "mirrored" / val_samples[0].path.name).stat().st_mtime_ns == done  # kept, not rendered again
    read = open_dataset(f"csv:{table}").samples
    assert [(s.path.name, s.label, s.signer) for s in read] == [(s.path.name, s.label, s.signer) for s in val_samples]
    assert all(s.path.parent == tmp_path / "mirrored" for s in read)
    original = open_dataset(f"csv:{render_dataset(val_samples, VIEWS['original'], tmp_path / 'original')}").samples
    assert [s.path for s in original] == [s.path.resolve() for s in val_samples]  # read as they are
    with pytest.raises(SignscribeError, match="same file name would share one rendering"):
        render_dataset([val_samples[0], val_samples[0]], VIEWS["mirrored"], tmp_path / "twice")


def test_the_signer_search_windows_and_crops_stay_in_the_frame() -> None:
    from signscribe.pose.signer_search import crop_around, windows

    tiles = windows(1280, 720)
    assert all(r - left == 360 and b - t == 360 and r <= 1280 and b <= 720 for left, t, r, b in tiles)
    covered = np.zeros((720, 1280), bool)
    for left, top, right, bottom in tiles:
        covered[top:bottom, left:right] = True
    assert covered.all()
    assert windows(2, 2) == windows(100, 120) == []  # too small to hold a findable signer
    # a small signer low and left: a square twice the body's size, moved inside the frame
    assert crop_around((250.0, 530.0, 390.0, 720.0), 1280, 720) == (130, 340, 510, 720)
    assert crop_around((30.0, 20.0, 220.0, 250.0), 256, 256) is None  # a large signer: no crop gains


def test_a_small_signer_in_a_720p_frame_is_found_and_recognised_as_the_original(
    wlasl100_csv: Path, tmp_path: Path, recognizer: Recognizer
) -> None:
    """MediaPipe misses this val clip's signer ("birthday") in every frame of the 720p webcam framing;
    the signer search finds them, and the landmarks are in the whole frame's pixels."""
    from signscribe.evaluation.camera import VIEWS
    from signscribe.pose import HolisticExtractor
    from signscribe.pose.extract import PoseFinder

    original = wlasl100_csv.parent / "videos" / "06362.mp4"
    webcam = VIEWS["webcam_720p"].render(original, tmp_path / "06362_720p.mp4")
    first_frame = next(iter(read_frames(webcam))).image
    with PoseFinder() as finder:
        assert finder.find(first_frame) is None  # the whole frame: no one
    sequence = HolisticExtractor().extract(webcam)
    assert (sequence.width, sequence.height) == (1280, 720)
    assert sequence.detected("pose").mean() > 0.9 and sequence.detected("right_hand").mean() > 0.8
    body, visibility = sequence.component("pose")
    seen = body[visibility > 0.5][:, :2]
    assert (seen[:, 0] > 192).all() and (seen[:, 0] < 552).all() and (seen[:, 1] > 360).all()  # in the clip's place
    expected, seen_prediction = recognizer.predict(original, top_k=1)[0], recognizer.predict(webcam, top_k=1)[0]
    assert seen_prediction.gloss == expected.gloss == "birthday"
    assert seen_prediction.confidence == pytest.approx(expected.confidence, abs=0.15)


def test_a_live_stream_finds_a_small_signer_in_a_720p_frame(
    wlasl100_csv: Path, tmp_path: Path, recognizer: Recognizer
) -> None:
    """Frame by frame, as a live stream gets them: the graph alone never finds this signer in the 720p
    framing; ``SignerFraming`` looks in zoomed windows once the body has been missed for a few frames,
    follows a crop around them from then on, and the streamed landmarks give the original's gloss."""
    from signscribe.evaluation.camera import VIEWS
    from signscribe.pose import PoseSequence
    from signscribe.pose.extract import PoseFinder
    from signscribe.pose.holistic_graph import HolisticStream
    from signscribe.pose.layout import Layout
    from signscribe.pose.signer_search import STREAM_MISSES, SignerFraming

    webcam = VIEWS["webcam_720p"].render(wlasl100_csv.parent / "videos" / "06362.mp4", tmp_path / "06362_720p.mp4")
    images = [frame.image for frame in read_frames(webcam)]
    body = Layout().slice("pose")
    with HolisticStream() as graph:
        alone = [graph.process(image)[1][body].max() > 0 for image in images]
        graph.reset()
        framing = SignerFraming(graph, open_finder=lambda: PoseFinder().__enter__())
        rows = [framing.process(image) for image in images]
        assert framing.region is not None
        framing.close()
    assert np.mean(alone) < 0.1
    found = [confidence[body].max() > 0 for _, confidence in rows]
    assert not any(found[:STREAM_MISSES]) and np.mean(found[STREAM_MISSES:]) > 0.9
    values, confidence = np.stack([v for v, _ in rows]), np.stack([c for _, c in rows])
    seen = values[:, body][confidence[:, body] > 0.5]  # in the whole frame's pixels, where the clip sits
    assert (seen[:, 0] > 192).all() and (seen[:, 0] < 552).all() and (seen[:, 1] > 360).all()
    sequence = PoseSequence(values, confidence, fps=probe(webcam).fps, width=1280, height=720)
    assert recognizer.predict(sequence, top_k=1)[0].gloss == "birthday"


def test_signer_framing_backs_off_in_an_empty_room_and_starts_over_on_a_new_frame_size() -> None:
    """With graphs that find no one: searches after 8, then 16 and 32 more missed frames; once a search
    finds a person, a frame of another size sends the stream back to the whole frame."""
    from signscribe.pose.layout import Layout
    from signscribe.pose.signer_search import SignerFraming

    points = Layout().num_points

    class Nobody:
        resets = 0

        def process(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.zeros((points, 3), np.float32), np.zeros(points, np.float32)

        def reset(self) -> None:
            self.resets += 1

    class Finder:
        def __init__(self) -> None:
            self.searched: list[tuple[int, int]] = []
            self.person: np.ndarray | None = None

        def find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
            self.searched.append(image.shape[:2])
            return None if self.person is None else (self.person, np.ones(len(self.person)))

        def close(self) -> None:
            pass

    finder, graph = Finder(), Nobody()
    framing = SignerFraming(graph, open_finder=lambda: finder)
    frame = np.zeros((720, 1280, 3), np.uint8)
    searches = []
    for index in range(8 + 16 + 32):
        before = len(finder.searched)
        framing.process(frame)
        if len(finder.searched) > before:
            searches.append(index + 1)
    assert searches == [8, 24, 56] and framing.region is None
    finder.person = np.array([[40, 60], [80, 60], [50, 150], [70, 150]], np.float32)  # small, in the first window
    for _ in range(64):
        framing.process(frame)
    assert framing.region is not None and framing.region[2] - framing.region[0] < 360
    resets = graph.resets
    framing.process(np.zeros((480, 640, 3), np.uint8))
    assert framing.region is None and graph.resets == resets + 1
