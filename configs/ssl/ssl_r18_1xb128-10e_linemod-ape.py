# As ssl_r18_1xb128-10e_linemod.py on one object (ape), as the original did.
_base_ = ['./ssl_r18_1xb128-10e_linemod.py']
train_dataloader = dict(dataset=dict(dataset=dict(obj_ids=[1])))
