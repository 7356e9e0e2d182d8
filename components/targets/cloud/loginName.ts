/** A Linux login name as cloud images create them (admin, ec2-user, ubuntu, etcd-admin). */
export const LOGIN_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
