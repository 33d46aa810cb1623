# The real-mesh 10 % model (pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py)
# trained again on its 30 labelled frames per object plus pseudo-labels of
# the other training frames: the poses a teacher predicted for them that
# agree with its poses of their neighbours along the video. The file is made
# by the trained 10 % model (the teacher) with
#   python tools/train.py \
#       configs/pose/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py
#   python tools/pseudo_label.py \
#       configs/pose/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py \
#       work_dirs/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct/iter_600.pth \
#       --out work_dirs/pseudo_labels.json
# The teacher must have the same data set and label_fraction: the file's
# "label" entries must be this config's labelled frames, or the dataset
# refuses it. On this set neighbouring training frames are a median 4 deg
# and 22 mm apart (8 deg, 44 mm two apart): the tool's 20 deg / 100 mm keeps
# 98 % of the true poses (10 deg / 20 mm would keep 11 %). Another file:
#   --cfg-options train_dataloader.dataset.pseudo_labels=FILE.json
_base_ = ['./pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py']
train_dataloader = dict(
    dataset=dict(pseudo_labels='work_dirs/pseudo_labels.json'))
