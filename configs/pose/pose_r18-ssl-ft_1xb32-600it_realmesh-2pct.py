# As the real-mesh 10 % config with 2 % of the training labels.
_base_ = ['./pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py']
train_dataloader = dict(dataset=dict(label_fraction=0.02))
