import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AwsTarget } from "./config";

/**
 * Options for a member's instance. Delete before replace: the member's network interface and volumes can belong to
 * one instance at a time, so a replacement created first could attach neither (pulumi-aws #2394, #2769). `after` is
 * the previous member's last step: the SDK registers the instance only once that step has finished, so the engine
 * replaces (new image) or stops and restarts (new type) one member's instance at a time, each after the member
 * before it is healthy again.
 */
export function instanceOptions(after: pulumi.Input<pulumi.Resource[]>, parent?: pulumi.Resource): pulumi.CustomResourceOptions {
    return { parent, deleteBeforeReplace: true, dependsOn: after };
}

export function memberInstance(name: string, target: AwsTarget, args: {
    networkInterface: aws.ec2.NetworkInterface;
    keyName: pulumi.Input<string>;
    userData: pulumi.Input<string>;
    after: pulumi.Input<pulumi.Resource[]>;
    instanceProfile?: pulumi.Input<string>;
}, parent?: pulumi.Resource): aws.ec2.Instance {
    return new aws.ec2.Instance(`${name}-instance`, {
        region: target.region,
        ami: target.ami,
        instanceType: target.instanceType,
        keyName: args.keyName,
        primaryNetworkInterface: { networkInterfaceId: args.networkInterface.id },
        userData: args.userData,
        // Changed in place (the profile is associated with the running instance), never a replacement.
        iamInstanceProfile: args.instanceProfile,
        // Only IMDSv2 (session tokens): the user data holds the host key.
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
        rootBlockDevice: { encrypted: true, volumeType: "gp3", kmsKeyId: target.kmsKeyId },
        tags: { Name: name },
    }, instanceOptions(args.after, parent));
}
